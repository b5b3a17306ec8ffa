// @ts-check
/**
 * `LiveCore`: the machinery behind `LiveStore` (live.js, its public face, which holds
 * one in a private field): the user's tasks, live, over one WebSocket per browser,
 * usable offline. Writes go to the outbox (outbox.js) and show at once, on top of the
 * server's state; the socket owner sends the queue. The mirror, the outbox and the open
 * conflicts are kept in IndexedDB (storage.js), shared by the tabs, so a reload shows
 * the last known list at once, offline too, and resumes from the stored `seq`. The sync
 * model is docs/sync-model.md, the same as the Python client's.
 *
 * This module is the start and the reads; its options and what its callbacks receive are
 * in live_options.js; its writes, conflicts and answers in live_writes.js; its socket,
 * shared by the tabs, its connection state and `close` in live_sync.js (the base
 * classes). Nothing here is public: an app sees only what live.js forwards.
 * @module tasksync/live_core
 */

import { ConflictList } from "./conflicts.js";
import { StoreClosedError, TasksyncError } from "./errors.js";
import { LiveSync } from "./live_sync.js";
import { sortTasks } from "./mirror.js";
import { Outbox } from "./outbox.js";
import { MirrorKeeper, openStorage } from "./storage.js";
import { TabChannel, toWire } from "./tabs.js";
import { tokenClaims } from "./tokens.js";
import { TokenTrust } from "./trust.js";
import { overlay } from "./writes.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./mirror.js").Change} Change */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */

// How long `start()` waits for a list to show before it rejects: long enough for a slow
// first snapshot on a poor network, short enough that a page never waits in silence when
// the API cannot be reached (offline on first use, or a CORS_ORIGINS without this page).
const START_TIMEOUT_MS = 15_000;

/** What `LiveStore` (live.js) forwards to: see there for what each member means. */
export class LiveCore extends LiveSync {
  /** @param {TasksyncClient} client @param {LiveStoreOptions} [options] */
  constructor(client, options = {}) {
    super(client, options);
    /** Whether the stored list or the first snapshot is in. */
    this.loaded = false;
    /** The current `start()`, once called. @type {Promise<void> | null} */
    this.starting = null;
  }

  /** `LiveStore.tasks`. @returns {Map<string, Task>} */
  get tasks() {
    // Nothing stored is shown for a token the server has not accepted, or after the session ended.
    if (!this.trust?.trusted) return new Map();
    this.view ??= overlay(this.mirror.tasks, this.outbox?.writes ?? []);
    return this.view;
  }

  /** `LiveStore.pending`. */
  get pending() {
    return [...(this.outbox?.writes ?? [])];
  }

  /** `LiveStore.isPending`. @param {string} id */
  isPending(id) {
    return this.outbox?.writes.some((w) => w.id === id) ?? false;
  }

  /** `LiveStore.durable`. */
  get durable() {
    return this.storage?.durable ?? false;
  }

  /** `LiveStore.flushed`. @returns {Promise<void>} */
  flushed() {
    return new Promise((resolve) => {
      const check = () => (this.outbox?.writes.length ?? 0) === 0 && this.mirror.seq >= this.writtenSeq;
      if (check()) return resolve();
      const waiter = () => {
        if (!check()) return;
        this.waiting = this.waiting.filter((w) => w !== waiter);
        resolve();
      };
      this.waiting.push(waiter);
    });
  }

  /** `LiveStore.seq`. */
  get seq() {
    return this.mirror.seq;
  }

  /** `LiveStore.get`. @param {string} id */
  get(id) {
    return this.tasks.get(id);
  }

  /** `LiveStore.list`. @param {import("./mirror.js").TaskQuery} [query] */
  list(query) {
    return sortTasks(this.tasks.values(), query);
  }

  /** `LiveStore.subscribe`. @param {() => void} listener @returns {() => void} */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** `LiveStore.start`: at most one start runs; a closed store is reopened first. @returns {Promise<void>} */
  start() {
    if (this.starting && !this.closed) return this.starting;
    if (this.signedOut) return Promise.reject(new StoreClosedError("signed out: start a new store for the next sign-in"));
    if (this.closed) this.reopen();
    const signal = this.stop.signal;
    const timeout = this.options.startTimeout ?? START_TIMEOUT_MS;
    this.starting = new Promise((resolve, reject) => {
      /** @param {unknown} error  @param {{fatal: boolean}} how  fatal: trying again cannot help */
      const failed = (error, { fatal }) => {
        clearTimeout(timer);
        const reason = error instanceof Error ? error : new Error(String(error));
        if (!signal.aborted) {
          this.error = reason;
          this.report(reason);
          // Closed, it can be started again (a retry button) once the cause is fixed.
          if (fatal) this.close();
          this.notify();
        }
        reject(reason);
      };
      const timer = Number.isFinite(timeout)
        ? setTimeout(() => !signal.aborted && !this.loaded && failed(this.unreachable(timeout), { fatal: false }), timeout)
        : undefined;
      this.open(signal).then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error) => failed(error, { fatal: true }),
      );
    });
    return this.starting;
  }

  /**
   * Why nothing could be shown within `ms`: where the store was stuck.
   * @param {number} ms @returns {TasksyncError}
   */
  unreachable(ms) {
    const api = this.client.baseUrl.origin;
    const page = globalThis.location?.origin;
    let why = "the network is down or the server is not running";
    // A browser reports a refused CORS preflight as a network error, indistinguishable from one.
    if (page && page !== api) why += `, or this page's origin (${page}) is not in the server's CORS_ORIGINS`;
    const stored = this.trust?.trusted ? "" : " (nothing stored in this browser can be shown until it answers)";
    return new TasksyncError(`could not reach ${api} within ${Math.round(ms / 1000)} s: ${why}${stored}; still trying`);
  }

  /**
   * What `start()` does, until the list is shown. Every wait is followed by a look at
   * `signal`: once `close()` aborted it, this start touches nothing more (a new start
   * may be running on the same store).
   * @param {AbortSignal} signal
   */
  async open(signal) {
    const token = await this.client.token();
    if (signal.aborted) return;
    const user = tokenClaims(token)?.sub ?? "?";
    const scope = `tasksync:${this.client.baseUrl.href}:${user}`;
    const share = this.options.shareTabs !== false && TabChannel.supported;
    const storage = await openStorage(scope, {
      onFallback: (reason) => {
        if (signal.aborted) return;
        // What IndexedDB held is in this tab's memory: the memory copy starts from it.
        this.storage?.seedMemory({
          tasks: this.mirror.tasks.values(),
          seq: this.mirror.seq,
          outbox: this.pending,
          conflicts: this.conflictList?.stored ?? [],
        });
        if (!this.signedOut) this.options.onStorage?.({ durable: false, reason });
      },
      onDeleted: () => signal.aborted || this.signedOutElsewhere(),
    });
    if (signal.aborted) return storage.close();
    if (storage.fallbackReason) this.options.onStorage?.({ durable: false, reason: storage.fallbackReason });
    this.storage = storage;
    const trust = (this.trust = new TokenTrust(this.client, storage, user));
    globalThis.addEventListener?.("online", this.onOnline);
    this.refreshState();
    const known = await trust.known(token);
    if (signal.aborted || (!known && !(await this.verify(token, signal)))) return;
    this.keeper = new MirrorKeeper(storage, this.mirror);
    const conflicts = (this.conflictList = new ConflictList(storage));
    const outbox = (this.outbox = new Outbox(storage, this.client, {
      // A follower leaves the shared queue to the socket owner; a queue in memory is this tab's own.
      mayFlush: () => !this.closed && this.keepsShared(),
      onSettled: (write, outcome, plan) => {
        // A queue in memory is this tab's alone: its numbers mean nothing to the others.
        if (storage.durable) this.post({ kind: "settled", write, outcome: toWire(outcome), plan });
        this.settle(write, outcome, plan);
      },
      onChange: (echo) => this.changed({ type: "outbox", id: null, task: null, echo, seq: this.mirror.seq }),
      onError: (error) => this.report(error),
    }));
    // Listen before loading: every event after the snapshot's seq is relayed after this.
    if (share) this.channel = new TabChannel(scope, (message) => this.onRelay(message));
    this.role = share ? "follower" : "solo";
    this.refreshState(true);
    const mirror = this.mirror;
    const stored = await storage.readMirror();
    await outbox.reload();
    await conflicts.reload();
    if (signal.aborted) return;
    if (stored.seq !== null) mirror.restore(stored.tasks, stored.seq);
    else await mirror.resync("initial");
    if (signal.aborted) return;
    this.loaded = true;
    this.error = null;
    /** @type {TaskEvent[]} */
    const early = this.early ?? [];
    this.early = null;
    for (const event of early) mirror.receive(event);
    this.notify();
    if (!this.channel) {
      void this.lead();
      return;
    }
    this.post({ kind: "query" });
    this.channel
      .lead(signal, () => this.lead())
      .catch((/** @type {unknown} */ error) => {
        if (!signal.aborted) this.report(error);
      });
  }

  /** Forget what a previous start held (`LiveSync.reopen`). */
  reopen() {
    super.reopen();
    this.loaded = false;
  }

  /**
   * A token the server has not accepted here before: ask it first, showing nothing (the
   * tabs' channel is not even joined) until it answers. Resolves false if the store
   * closed meanwhile; rejects on a refusal (`start()` then closes the store).
   * @param {string} token @param {AbortSignal} signal
   */
  verify(token, signal) {
    const trust = /** @type {TokenTrust} */ (this.trust);
    const connection = this.connection;
    return trust.verify(token, {
      onLink: (link) => {
        this.link = link;
        this.refreshState();
      },
      pause: (ms, atLeast) => connection.pause(ms, atLeast),
      closed: () => signal.aborted,
    });
  }

  /** Whether this tab keeps the state the tabs share (sends the queue, sweeps conflicts). */
  keepsShared() {
    return this.role !== "follower" || !this.durable;
  }

  /** Another tab signed the user out (its relay, or the database it deleted). */
  signedOutElsewhere() {
    if (this.closed) return;
    this.signedOut = true;
    this.close();
    this.options.onSignedOut?.();
  }

  /** `LiveStore.signOut`. */
  async signOut() {
    this.signedOut = true;
    this.post({ kind: "signout" });
    const storage = this.storage;
    this.close();
    await storage?.clear();
  }

  /** The mirror, the queue or the conflicts changed. @param {Change} change */
  changed(change) {
    this.view = null;
    const task = change.type !== "outbox" && change.type !== "conflicts";
    if (task && this.role !== "follower") this.keeper?.note(change.type === "snapshot" ? null : change.id);
    // The server's state may have settled a conflict by itself.
    if (task && this.loaded && this.keepsShared()) void this.sweepConflicts();
    if (change.type === "outbox") this.options.onPending?.(this.pending);
    for (const waiter of [...this.waiting]) waiter();
    this.options.onChange?.(change);
    this.notify();
  }
}
