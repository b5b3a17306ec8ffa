// @ts-check
/**
 * `LiveStore`: the user's tasks, live, over one WebSocket per browser, usable offline.
 * The tab holding a Web Lock owns the socket (connection.js) and relays every event to
 * the other tabs over a BroadcastChannel (tabs.js); they apply the relayed events with
 * the same ordering rules (mirror.js). When the owner closes, the next tab in line gets
 * the lock and resumes with `since` = its own `seq`. Without those APIs every tab has
 * its own socket.
 *
 * Writes go to the outbox (outbox.js) and show at once, on top of the server's state;
 * the socket owner sends the queue. The mirror and the outbox are kept in IndexedDB
 * (storage.js), shared by the tabs, so a reload shows the last known list at once,
 * offline too, and resumes from the stored `seq`.
 * @module tasksync/live
 */

import { Connection } from "./connection.js";
import { TaskMirror, sortTasks } from "./mirror.js";
import { LiveWrites } from "./live_writes.js";
import { Outbox, overlay } from "./outbox.js";
import { tokenClaims } from "./rest.js";
import { MirrorKeeper, openStorage } from "./storage.js";
import { TabChannel, fromWire, toWire } from "./tabs.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./mirror.js").Change} Change */
/** @typedef {import("./outbox.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./outbox.js").Outcome} Outcome */
/** @typedef {import("./rest.js").ConflictError} ConflictError */
/** @typedef {import("./rest.js").TasksyncError} TasksyncError */
/** @typedef {import("./storage.js").TaskStorage} TaskStorage */
/** @typedef {import("./tabs.js").Relay} Relay */

/** @typedef {"connecting" | "live" | "offline" | "resyncing" | "closed"} ConnectionState */

/**
 * Which part this tab plays: it holds the shared socket, it is fed by the tab that
 * does, or it has its own socket (the browser lacks Web Locks or BroadcastChannel).
 * @typedef {"leader" | "follower" | "solo"} Role
 */

/**
 * @typedef {object} ConflictInfo
 * @property {import("./outbox.js").Operation} operation
 * @property {string} id
 * @property {TaskFields | null} attempted  the fields that were not written
 * @property {ConflictError} error
 * @property {QueuedWrite} write  the queued write the server refused
 */

/**
 * @typedef {object} LiveStoreOptions
 * @property {(change: Change) => void} [onChange]
 * @property {(state: ConnectionState, detail: {role: Role | null, code?: number}) => void} [onState]  `code`: how the last socket closed, until live again (1012: the server is restarting)
 * @property {(current: Task, info: ConflictInfo) => void} [onConflict]  a `412`: the write was refused; `current` is the task now (and shown)
 * @property {(write: QueuedWrite, error: TasksyncError) => void} [onDropped]  a queued write the server refused for good: `404` (the task is gone) or another `4xx`
 * @property {(writes: QueuedWrite[]) => void} [onPending]  the queue changed (writes not yet answered, oldest first)
 * @property {(info: {durable: boolean, reason: string}) => void} [onStorage]  storage fell back to memory: nothing survives a reload
 * @property {() => void} [onSignedOut]  another tab signed this user out (the store is closed)
 * @property {(info: {reason: string, seq: number, count: number}) => void} [onResync]
 * @property {(error: Error) => void} [onError]
 * @property {boolean} [shareTabs]  share one socket between the tabs of this browser (default: where supported)
 */

// The leader announces itself this often, so a follower notices a relay it never got.
const HEARTBEAT_MS = 15_000;

/**
 * The user's tasks, live. `start()` shows the stored list (or loads the snapshot) and
 * keeps it current. Writes through the store show at once, are queued durably and sent
 * in order when the server is reachable, each with `If-Match` set to the version it was
 * made on, so an edit made on stale data becomes a conflict (`onConflict`) instead of
 * silently overwriting someone else's change.
 *
 * @example
 * const store = new LiveStore(client, {
 *   onChange: () => render(store.list({ status: "pending" })),
 *   onState: (state, { role }) => showBadge(state, role),
 *   onConflict: (current) => toast(`“${current.title}” was changed elsewhere`),
 * });
 * await store.start();
 * await store.update(id, { title: "Buy oat milk" });
 */
export class LiveStore extends LiveWrites {
  /** @param {TasksyncClient} client @param {LiveStoreOptions} [options] */
  constructor(client, options = {}) {
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
    this.closed = false;
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

  /**
   * The tasks by id, as they will be once the queued writes are applied.
   * @example
   * for (const task of store.tasks.values()) console.log(task.title, store.isPending(task.id));
   */
  get tasks() {
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

  notify() {
    this.revision++;
    for (const listener of [...this.listeners]) listener();
  }

  /**
   * Show the stored list (or, the first time, load the snapshot), then go live in the
   * background. Resolves once the tasks are there; rejects on a fatal error (no token,
   * or one the server refuses).
   * @example
   * await store.start();
   * render(store.list());
   */
  async start() {
    if (this.role) throw new Error("a LiveStore starts once");
    const token = await this.client.token();
    const scope = `tasksync:${this.client.baseUrl.href}:${tokenClaims(token)?.sub ?? "?"}`;
    const share = this.options.shareTabs !== false && TabChannel.supported;
    const storage = await openStorage(scope, {
      onFallback: (reason) => {
        // What IndexedDB held is in this tab's memory: the memory copy starts from it.
        this.storage?.seedMemory({ tasks: this.mirror.tasks.values(), seq: this.mirror.seq, outbox: this.pending });
        this.options.onStorage?.({ durable: false, reason });
      },
    });
    if (storage.fallbackReason) this.options.onStorage?.({ durable: false, reason: storage.fallbackReason });
    this.storage = storage;
    this.keeper = new MirrorKeeper(storage, this.mirror);
    this.outbox = new Outbox(storage, this.client, {
      // A follower leaves the shared queue to the socket owner; a queue in memory is this tab's own.
      mayFlush: () => !this.closed && (this.role !== "follower" || !storage.durable),
      onSettled: (write, outcome) => {
        // A queue in memory is this tab's alone: its numbers mean nothing to the others.
        if (storage.durable) this.post({ kind: "settled", write, outcome: toWire(outcome) });
        this.settle(write, outcome);
      },
      onChange: () => this.changed({ type: "outbox", id: null, task: null, echo: true, seq: this.mirror.seq }),
      onError: (error) => this.report(error),
    });
    // Listen before loading: every event after the snapshot's seq is relayed after this.
    if (share) this.channel = new TabChannel(scope, (message) => this.onRelay(message));
    this.role = share ? "follower" : "solo";
    globalThis.addEventListener?.("online", this.onOnline);
    this.refreshState();
    const stored = await storage.readMirror();
    await this.outbox.reload();
    if (stored.seq !== null) this.mirror.restore(stored.tasks, stored.seq);
    else await this.mirror.resync("initial");
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

  /**
   * Sign out: stop, and delete everything stored for this user in this browser (the
   * mirror and any write still queued). The other tabs of the user close too
   * (`onSignedOut`). Wait for `flushed()` first to keep queued writes.
   * @example
   * if (store.pending.length === 0 || confirm("Discard changes not yet sent?")) await store.signOut();
   */
  async signOut() {
    this.post({ kind: "signout" });
    const storage = this.storage;
    this.close();
    await storage?.clear();
  }

  /** The mirror or the queue changed. @param {Change} change */
  changed(change) {
    this.view = null;
    if (change.type !== "outbox" && this.role !== "follower") this.keeper?.note(change.type === "snapshot" ? null : change.id);
    if (change.type === "outbox") this.options.onPending?.(this.pending);
    for (const waiter of [...this.waiting]) waiter();
    this.options.onChange?.(change);
    this.notify();
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
    } else if (message.kind === "settled") {
      if (message.write.n !== undefined) this.outbox?.forget(message.write.n);
      this.settle(message.write, fromWire(message.outcome));
    } else if (message.kind === "signout") {
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
