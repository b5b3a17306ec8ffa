// @ts-check
/**
 * `LiveStore`: the user's tasks, live, over one WebSocket per browser, usable offline.
 * Writes go to the outbox (outbox.js) and show at once, on top of the server's state;
 * the socket owner sends the queue. The mirror, the outbox and the open conflicts are
 * kept in IndexedDB (storage.js), shared by the tabs, so a reload shows the last known
 * list at once, offline too, and resumes from the stored `seq`. The sync model is
 * docs/sync-model.md, the same as the Python client's.
 *
 * This module is the store's public surface: the reads, `subscribe`, `start` and
 * `signOut`. Its options and what its callbacks receive are in live_options.js; its
 * writes and conflicts in live_writes.js; its socket, shared by the tabs, its connection state and
 * `close` in live_sync.js (the base classes).
 * @module tasksync/live
 */

import { ConflictList } from "./conflicts.js";
import { StoreClosedError } from "./errors.js";
import { LiveSync } from "./live_sync.js";
import { sortTasks } from "./mirror.js";
import { Outbox } from "./outbox.js";
import { MirrorKeeper, openStorage } from "./storage.js";
import { TabChannel, toWire } from "./tabs.js";
import { tokenClaims } from "./tokens.js";
import { TokenTrust } from "./trust.js";
import { overlay } from "./writes.js";

/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./mirror.js").Change} Change */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */

/**
 * The user's tasks, live. `start()` shows the stored list (or loads the snapshot) and
 * keeps it current. Writes through the store show at once, are queued durably and sent
 * in order when the server is reachable. An edit carries only the fields it changes,
 * each tested against the value the user saw, so edits of different fields on several
 * devices all apply; two devices setting one field differently make a conflict
 * (`onConflict`, `conflicts`), settled by the user (`keepTheirs`, `useMine`), never a
 * silent overwrite.
 *
 * @example
 * const store = new LiveStore(client, {
 *   onChange: () => render(store.list({ status: "pending" }), store.conflicts),
 *   onState: (state, { role }) => showBadge(state, role),
 *   onConflict: (c) => toast(`${c.field ?? "the task"} was changed on another device`),
 * });
 * await store.start();
 * await store.update(id, { title: "Buy oat milk" });
 */
export class LiveStore extends LiveSync {
  /** @param {TasksyncClient} client @param {LiveStoreOptions} [options] */
  constructor(client, options = {}) {
    super(client, options);
    /** Whether the stored list or the first snapshot is in. */
    this.loaded = false;
    this.started = false;
  }

  /**
   * The tasks by id, as they will be once the queued writes are applied.
   * @example
   * for (const task of store.tasks.values()) console.log(task.title, store.isPending(task.id));
   */
  get tasks() {
    // Nothing stored is shown for a token the server has not accepted, or after the session ended.
    if (!this.trust?.trusted) return new Map();
    this.view ??= overlay(this.mirror.tasks, this.outbox?.writes ?? []);
    return this.view;
  }

  /**
   * The queued writes that the server has not answered yet, oldest first (every tab's).
   * @example
   * badge.textContent = store.pending.length ? `${store.pending.length} changes waiting` : "";
   */
  get pending() {
    return [...(this.outbox?.writes ?? [])];
  }

  /** Whether a queued write to this task is still waiting. @param {string} id */
  isPending(id) {
    return this.outbox?.writes.some((w) => w.id === id) ?? false;
  }

  /**
   * Whether what is stored survives a reload (false: IndexedDB is missing or full, so
   * the store is in memory only, as `onStorage` said).
   */
  get durable() {
    return this.storage?.durable ?? false;
  }

  /**
   * Resolves once every queued write is answered and the mirror has seen their events
   * (read-your-writes): e.g. before signing out.
   * @example
   * await store.flushed();
   * await store.signOut();
   */
  flushed() {
    return new Promise((resolve) => {
      const check = () => (this.outbox?.writes.length ?? 0) === 0 && this.mirror.seq >= this.writtenSeq;
      if (check()) return resolve(undefined);
      const waiter = () => {
        if (!check()) return;
        this.waiting = this.waiting.filter((w) => w !== waiter);
        resolve(undefined);
      };
      this.waiting.push(waiter);
    });
  }

  /** The seq of the last change applied. */
  get seq() {
    return this.mirror.seq;
  }

  /** The task as it will be once its queued writes are applied. @param {string} id */
  get(id) {
    return this.tasks.get(id);
  }

  /**
   * The tasks, filtered and ordered as the server's list would, queued writes applied.
   * @example
   * render(store.list({ status: "pending", sort: "due_date", order: "asc" }));
   * @param {import("./mirror.js").TaskQuery} [query]
   */
  list(query) {
    return sortTasks(this.tasks.values(), query);
  }

  /**
   * Be called after every change: the tasks, the queue or the connection state (for a
   * UI library's binding, as `useLiveTasks` in `tasksync/react`). Returns the unsubscribe.
   * `revision` counts the changes, so a cached view knows when it is stale.
   * @example
   * const unsubscribe = store.subscribe(() => render(store.list(), store.state));
   * @param {() => void} listener @returns {() => void}
   */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Show the stored list (or, the first time, load the snapshot), then go live in the
   * background. Resolves once the tasks are there; rejects on a fatal error (no token,
   * or one the server refuses: the store closes). The stored list is shown at once only
   * for the token the server last accepted in this browser; for any other, once the
   * server has accepted it (meanwhile `state` is `connecting`, or `offline` while the
   * server cannot be reached, and nothing is shown).
   * @example
   * await store.start();
   * render(store.list());
   */
  async start() {
    if (this.started) throw new Error("a LiveStore starts once");
    if (this.closed) throw new StoreClosedError("the store is closed: start a new one");
    this.started = true;
    const token = await this.client.token();
    const user = tokenClaims(token)?.sub ?? "?";
    const scope = `tasksync:${this.client.baseUrl.href}:${user}`;
    const share = this.options.shareTabs !== false && TabChannel.supported;
    const storage = await openStorage(scope, {
      onFallback: (reason) => {
        // What IndexedDB held is in this tab's memory: the memory copy starts from it.
        this.storage?.seedMemory({
          tasks: this.mirror.tasks.values(),
          seq: this.mirror.seq,
          outbox: this.pending,
          conflicts: this.conflictList?.stored ?? [],
        });
        if (!this.signedOut) this.options.onStorage?.({ durable: false, reason });
      },
      onDeleted: () => this.signedOutElsewhere(),
    });
    if (storage.fallbackReason) this.options.onStorage?.({ durable: false, reason: storage.fallbackReason });
    this.storage = storage;
    this.trust = new TokenTrust(this.client, storage, user);
    globalThis.addEventListener?.("online", this.onOnline);
    this.refreshState();
    if (!(await this.trust.known(token)) && !(await this.verify(token))) return;
    this.keeper = new MirrorKeeper(storage, this.mirror);
    this.conflictList = new ConflictList(storage);
    this.outbox = new Outbox(storage, this.client, {
      // A follower leaves the shared queue to the socket owner; a queue in memory is this tab's own.
      mayFlush: () => !this.closed && this.keepsShared(),
      onSettled: (write, outcome, plan) => {
        // A queue in memory is this tab's alone: its numbers mean nothing to the others.
        if (storage.durable) this.post({ kind: "settled", write, outcome: toWire(outcome), plan });
        this.settle(write, outcome, plan);
      },
      onChange: (echo) => this.changed({ type: "outbox", id: null, task: null, echo, seq: this.mirror.seq }),
      onError: (error) => this.report(error),
    });
    // Listen before loading: every event after the snapshot's seq is relayed after this.
    if (share) this.channel = new TabChannel(scope, (message) => this.onRelay(message));
    this.role = share ? "follower" : "solo";
    this.refreshState(true);
    const stored = await storage.readMirror();
    await this.outbox.reload();
    await this.conflictList.reload();
    if (stored.seq !== null) this.mirror.restore(stored.tasks, stored.seq);
    else await this.mirror.resync("initial");
    this.loaded = true;
    /** @type {TaskEvent[]} */
    const early = this.early ?? [];
    this.early = null;
    for (const event of early) this.mirror.receive(event);
    if (this.closed) return;
    if (!this.channel) {
      void this.lead();
      return;
    }
    this.post({ kind: "query" });
    this.channel
      .lead(this.stop.signal, () => this.lead())
      .catch((/** @type {unknown} */ error) => {
        if (!this.closed) this.report(error);
      });
  }

  /**
   * A token the server has not accepted here before: ask it first, showing nothing (the
   * tabs' channel is not even joined) until it answers. Resolves false if the store
   * closed meanwhile; a refusal closes the store and rejects.
   * @param {string} token
   */
  async verify(token) {
    const trust = /** @type {TokenTrust} */ (this.trust);
    try {
      return await trust.verify(token, {
        onLink: (link) => {
          this.link = link;
          this.refreshState();
        },
        pause: (ms, atLeast) => this.connection.pause(ms, atLeast),
        closed: () => this.closed,
      });
    } catch (error) {
      this.close();
      throw error;
    }
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

  /**
   * Sign out: stop, and delete everything stored for this user in this browser (the
   * mirror and any write still queued). The other tabs of the user close too
   * (`onSignedOut`). Wait for `flushed()` first to keep queued writes.
   * @example
   * if (store.pending.length === 0 || confirm("Discard changes not yet sent?")) await store.signOut();
   */
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
