// @ts-check
/**
 * How a `LiveStore` stays current: `LiveSync`, `LiveCore`'s base class, wires the mirror
 * (mirror.js) to the socket (connection.js). The tab holding a Web Lock owns the socket
 * and relays every event to the other tabs over a BroadcastChannel (tabs.js); they
 * apply the relayed events with the same ordering rules (mirror.js). When the owner
 * closes, the next tab in line gets the lock and resumes with `since` = its own `seq`.
 * Without those APIs every tab has its own socket. The connection state goes to
 * `onState` (and, from the owner, to the other tabs); `close` stops all of it, and
 * `endSession` too when the server refuses the user's tokens for good.
 * @module tasksync/live_sync
 */

import { Connection } from "./connection.js";
import { AuthError } from "./errors.js";
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
/** @typedef {import("./trust.js").TokenTrust} TokenTrust */
/** @typedef {import("./socket.js").SocketSession} SocketSession */
/** @typedef {import("./live_options.js").ConnectionState} ConnectionState */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */
/** @typedef {import("./live_options.js").Role} Role */

// The leader announces itself this often, so a follower notices a relay it never got;
// the socket's holder also notes the token it renewed the socket with (`noteRenewal`).
const HEARTBEAT_MS = 15_000;

/** The socket, the tab relays and the connection state of a `LiveCore`. */
export class LiveSync extends LiveWrites {
  /** @param {TasksyncClient} client @param {LiveStoreOptions} options */
  constructor(client, options) {
    super(client, options);
    this.mirror = this.newMirror();
    this.connection = this.newConnection();
    /** @type {ConnectionState} */
    this.state = "idle";
    /** @type {Role | null} */
    this.role = null;
    /** The connection itself, apart from a reload in progress. @type {ConnectionState} */
    this.link = "connecting";
    /** How the last socket closed, until the next one is live. @type {number | undefined} */
    this.closeCode = undefined;
    /**
     * Why the store cannot show or keep the list current: `start()` failed or gave up
     * waiting, or the connection ended for good. Null again once the list is shown.
     * @type {Error | null}
     */
    this.error = null;
    this.relayed = 0;
    /** Aborted by `close()`: whatever a start began stops with it. */
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
    /** Whether what is stored may be shown for this store's token. @type {TokenTrust | null} */
    this.trust = null;
    /** The socket's token at the last heartbeat. @type {{socket: SocketSession, token: string, at: number} | null} */
    this.renewal = null;
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

  /**
   * A closed store is started again (React runs an effect, its cleanup and the effect
   * again in development): everything a start builds is built anew, from what is
   * stored, as a new store would; the options and `subscribe`'s listeners stay.
   */
  reopen() {
    super.reopen();
    this.mirror = this.newMirror();
    this.connection = this.newConnection();
    this.state = "idle";
    this.role = null;
    this.link = "connecting";
    this.closeCode = undefined;
    this.error = null;
    this.relayed = 0;
    this.stop = new AbortController();
    this.channel = null;
    this.storage = this.keeper = this.trust = null;
    this.renewal = this.view = null;
    this.waiting = [];
    this.early = [];
  }

  /** The mirror of one start; what it reports is dropped once the store is reopened. */
  newMirror() {
    /** @type {TaskMirror} */
    const mirror = new TaskMirror(this.client, {
      onChange: (change) => this.mirror === mirror && this.changed(change),
      onResync: (info) => this.mirror === mirror && this.options.onResync?.(info),
      onSyncing: () => this.mirror === mirror && this.refreshState(),
      onError: (error) => this.mirror === mirror && this.report(error),
      // Waits that the browser's `online` event cuts short, as the socket's do.
      pause: (ms, atLeast) => this.connection.pause(ms, atLeast),
    });
    return mirror;
  }

  /** The socket sessions of one start. */
  newConnection() {
    /** @type {Connection} */
    const connection = new Connection(this.client, {
      since: () => this.mirror.seq,
      reloading: () => this.mirror.syncing,
      resync: (reason) => this.mirror.resync(reason),
      onLink: (link, code) => {
        if (this.connection !== connection) return;
        this.link = link;
        if (link === "live") {
          this.closeCode = undefined;
          // The socket's hello: the server took the token it sent.
          this.trust?.accepted(this.connection.socket?.sent).catch((error) => this.report(error));
        } else if (code !== undefined) this.closeCode = code;
        this.refreshState();
        if (link === "live") this.outbox?.wake();
      },
      onEvent: (event) => {
        if (this.connection !== connection) return;
        this.post({ kind: "event", event });
        this.relayed = Math.max(this.relayed, event.seq);
        this.mirror.receive(event);
      },
      onResync: () => {
        if (this.connection !== connection) return;
        this.post({ kind: "resync" });
        void this.mirror.resync("server");
      },
      onFatal: (error) => this.connection === connection && this.fail(error),
      onError: (error) => this.connection === connection && this.report(error),
    });
    return connection;
  }

  // ---- closing ----------------------------------------------------------------------

  /** Stop; if this tab held the socket, the next tab takes it over. */
  close() {
    if (this.closed) return;
    this.closed = this.mirror.closed = true;
    if (this.role === "leader") this.post({ kind: "state", state: "connecting", relayed: this.relayed });
    this.stop.abort();
    this.outbox?.close();
    this.answers.close();
    this.storage?.close();
    clearInterval(this.heartbeat);
    this.connection.close();
    this.channel?.close();
    globalThis.removeEventListener?.("online", this.onOnline);
    this.state = "closed";
    this.role = null;
    this.options.onState?.("closed", { role: null });
    this.notify();
  }

  /**
   * The session ended: the server refused fresh tokens, or the provider has none (the
   * user signed out elsewhere). The store closes and shows nothing any more; what is
   * stored is deleted unless it holds writes not sent yet or open conflicts, kept for the
   * user's next sign-in, and the token is forgotten either way (an offline start with it
   * shows nothing). `onError` is told what was kept.
   * @param {Error} error
   */
  async endSession(error) {
    if (this.closed) return;
    const storage = this.storage;
    this.keeper?.stop();
    // Hides everything at once; what to keep is decided in storage before it is closed.
    const ending = this.trust?.end() ?? Promise.resolve(null);
    this.storage = null;
    this.close();
    this.mirror.tasks = new Map();
    this.outbox = null;
    this.conflictList = null;
    this.dropped = [];
    this.view = null;
    this.options.onChange?.({ type: "snapshot", id: null, task: null, echo: false, seq: this.mirror.seq });
    this.notify();
    /** @type {{writes: number, conflicts: number} | null} */
    let kept = null;
    try {
      kept = await ending;
    } finally {
      storage?.close();
    }
    const user = this.client.userId ?? "this user";
    let what = `what this browser stored for ${user} is deleted`;
    if (!kept) what = "nothing stored was shown";
    else if (kept.writes + kept.conflicts > 0) {
      what = `what this browser stored for ${user} is kept until they sign in again`;
      what += ` (writes not sent yet: ${kept.writes}, open conflicts: ${kept.conflicts})`;
    }
    this.report(new AuthError(`${error.message}; ${what}`));
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
    this.heartbeat = setInterval(() => {
      if (this.role === "leader") this.announce();
      this.noteRenewal();
    }, HEARTBEAT_MS);
    // From now on this tab keeps the stored mirror and sends the queue.
    this.keeper?.note(null);
    await this.outbox?.reload();
    await this.connection.run();
  }

  /**
   * A token renewed on the open socket gets no answer, but a refused one closes it at
   * once (4401), and the server reads a socket's messages in order. So the token the
   * socket carried at the last heartbeat was accepted if the same socket is still open
   * now and has heard from the server since: the one to recognise offline.
   */
  noteRenewal() {
    const socket = this.connection.socket;
    const last = this.renewal;
    if (last && last.socket === socket && socket.heard > last.at) {
      this.trust?.accepted(last.token).catch((error) => this.report(error));
    }
    this.renewal = socket?.hello ? { socket, token: socket.sent, at: Date.now() } : null;
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
    if (state === "live") this.error = null;
    if (this.role === "leader") this.announce();
    this.options.onState?.(state, { role: this.role, code: this.closeCode });
    this.notify();
  }

  /**
   * A fatal error: offline until the store is closed and started again; a refused
   * session ends the store. @param {Error} error
   */
  fail(error) {
    this.error = error;
    if (error instanceof AuthError) {
      void this.endSession(error);
      return;
    }
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
