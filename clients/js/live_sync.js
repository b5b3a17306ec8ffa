// @ts-check
/**
 * How `LiveStore` (live.js) stays current: `LiveSync`, its base class, wires the mirror
 * (mirror.js) to the socket (connection.js). The tab holding a Web Lock owns the socket
 * and relays every event to the other tabs over a BroadcastChannel (tabs.js); they
 * apply the relayed events with the same ordering rules (mirror.js). When the owner
 * closes, the next tab in line gets the lock and resumes with `since` = its own `seq`.
 * Without those APIs every tab has its own socket. The connection state goes to
 * `onState` (and, from the owner, to the other tabs); `close` stops all of it.
 * @module tasksync/live_sync
 */

import { Connection } from "./connection.js";
import { LiveWrites } from "./live_writes.js";
import { TaskMirror } from "./mirror.js";
import { fromWire } from "./tabs.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./storage.js").MirrorKeeper} MirrorKeeper */
/** @typedef {import("./storage.js").TaskStorage} TaskStorage */
/** @typedef {import("./tabs.js").Relay} Relay */
/** @typedef {import("./tabs.js").TabChannel} TabChannel */
/** @typedef {import("./live_options.js").ConnectionState} ConnectionState */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */
/** @typedef {import("./live_options.js").Role} Role */

// The leader announces itself this often, so a follower notices a relay it never got.
const HEARTBEAT_MS = 15_000;

/** The socket, the tab relays and the connection state of a `LiveStore` (use that). */
export class LiveSync extends LiveWrites {
  /** @param {TasksyncClient} client @param {LiveStoreOptions} options */
  constructor(client, options) {
    super(client, options);
    this.mirror = new TaskMirror(client, {
      onChange: (change) => this.changed(change),
      onResync: (info) => options.onResync?.(info),
      onSyncing: () => this.refreshState(),
      onError: (error) => this.report(error),
      // Waits that the browser's `online` event cuts short, as the socket's do.
      pause: (ms, atLeast) => this.connection.pause(ms, atLeast),
    });
    /** @type {Connection} */
    this.connection = new Connection(client, {
      since: () => this.mirror.seq,
      reloading: () => this.mirror.syncing,
      resync: (reason) => this.mirror.resync(reason),
      onLink: (link, code) => {
        this.link = link;
        if (link === "live") this.closeCode = undefined;
        else if (code !== undefined) this.closeCode = code;
        this.refreshState();
        if (link === "live") this.outbox?.wake();
      },
      onEvent: (event) => {
        this.post({ kind: "event", event });
        this.relayed = Math.max(this.relayed, event.seq);
        this.mirror.receive(event);
      },
      onResync: () => {
        this.post({ kind: "resync" });
        void this.mirror.resync("server");
      },
      onFatal: (error) => this.fail(error),
      onError: (error) => this.report(error),
    });
    /** @type {ConnectionState} */
    this.state = "closed";
    /** @type {Role | null} */
    this.role = null;
    /** The connection itself, apart from a reload in progress. @type {ConnectionState} */
    this.link = "connecting";
    /** How the last socket closed, until the next one is live. @type {number | undefined} */
    this.closeCode = undefined;
    this.relayed = 0;
    this.stop = new AbortController();
    /** @type {TabChannel | null} */
    this.channel = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.heartbeat = undefined;
    this.onOnline = () => {
      this.connection.wake();
      this.outbox?.wake();
    };
    /** @type {TaskStorage | null} */
    this.storage = null;
    /** @type {MirrorKeeper | null} */
    this.keeper = null;
    /** The tasks with the queued writes applied (computed when asked). @type {Map<string, Task> | null} */
    this.view = null;
    /** @type {(() => void)[]} */
    this.waiting = [];
    /** Events relayed while the stored list or the snapshot is loading, applied after it. @type {TaskEvent[] | null} */
    this.early = [];
    /** @type {Set<() => void>} */
    this.listeners = new Set();
    /** How many changes `subscribe`'s listeners were told of. */
    this.revision = 0;
  }

  // ---- closing ----------------------------------------------------------------------

  /** Stop; if this tab held the socket, the next tab takes it over. */
  close() {
    if (this.closed) return;
    this.closed = this.mirror.closed = true;
    if (this.role === "leader") this.post({ kind: "state", state: "connecting", relayed: this.relayed });
    this.stop.abort();
    this.outbox?.close();
    this.storage?.close();
    clearInterval(this.heartbeat);
    this.connection.close();
    this.channel?.close();
    globalThis.removeEventListener?.("online", this.onOnline);
    this.state = "closed";
    this.options.onState?.("closed", { role: this.role });
    this.notify();
  }

  notify() {
    this.revision++;
    for (const listener of [...this.listeners]) listener();
  }

  // ---- sharing one socket between tabs ------------------------------------------

  /** Runs with the Web Lock held (or at once without sharing), until the store closes. */
  async lead() {
    if (this.role === "follower") this.role = "leader";
    this.link = "connecting";
    this.refreshState(true);
    if (this.role === "leader") this.heartbeat = setInterval(() => this.announce(), HEARTBEAT_MS);
    // From now on this tab keeps the stored mirror and sends the queue.
    this.keeper?.note(null);
    await this.outbox?.reload();
    await this.connection.run();
  }

  announce() {
    this.post({ kind: "state", state: this.link, relayed: this.relayed, code: this.closeCode });
  }

  async reloadConflicts() {
    await this.conflictList?.reload();
    if (!this.closed) this.conflictsChanged();
  }

  /** @param {Relay} message */
  post(message) {
    this.channel?.post(message);
  }

  /** @param {Relay} message */
  onRelay(message) {
    if (this.closed) return;
    if (message.kind === "query") {
      if (this.role === "leader") this.announce();
    } else if (message.kind === "outbox") {
      void this.outbox?.reload();
      void this.reloadConflicts();
    } else if (message.kind === "conflicts") {
      void this.reloadConflicts();
    } else if (message.kind === "settled") {
      const { write, plan } = message;
      for (const n of plan.remove) this.outbox?.forget(n);
      // Writes changed in place (sent again, folded, rebased): read the queue again.
      if (plan.put.length) void this.outbox?.reload();
      else this.changed({ type: "outbox", id: null, task: null, echo: write.clientId === this.client.clientId, seq: this.mirror.seq });
      this.settle(write, fromWire(message.outcome), plan);
    } else if (message.kind === "signout") {
      this.signedOut = true;
      this.close();
      this.options.onSignedOut?.();
    } else if (this.role !== "follower") {
      return;
    } else if (message.kind === "event") {
      if (this.early) this.early.push(message.event);
      else this.mirror.receive(message.event);
    } else if (message.kind === "resync") {
      void this.mirror.resync("server");
    } else if (message.kind === "state") {
      this.link = message.state;
      this.closeCode = message.code;
      // One sender, in order: every relay it counts has reached this tab already.
      if (!this.early && !this.mirror.syncing && message.relayed > this.mirror.seq) void this.mirror.resync("gap");
      this.refreshState();
    }
  }

  // ---- reporting -------------------------------------------------------------------

  /** Tell `onState` (and, from the leader, the other tabs) of a change. @param {boolean} [roleChanged] */
  refreshState(roleChanged = false) {
    if (this.closed) return;
    const reloading = this.mirror.syncing && this.mirror.syncReason !== "initial";
    const state = reloading ? "resyncing" : this.link;
    if (state === this.state && !roleChanged) return;
    this.state = state;
    if (this.role === "leader") this.announce();
    this.options.onState?.(state, { role: this.role, code: this.closeCode });
    this.notify();
  }

  /** A fatal error: offline until the store is closed and started again. @param {Error} error */
  fail(error) {
    this.link = "offline";
    this.refreshState();
    this.report(error);
  }

  /** @param {unknown} error */
  report(error) {
    const reported = error instanceof Error ? error : new Error(String(error));
    if (this.options.onError) this.options.onError(reported);
    else console.warn("tasksync:", reported);
  }
}
