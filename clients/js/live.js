// @ts-check
/**
 * `LiveStore`: the user's tasks, live, over one WebSocket per browser. The tab holding
 * a Web Lock owns the socket and relays every event to the other tabs over a
 * BroadcastChannel; they load their own snapshot by REST and apply the relayed events
 * with the same ordering rules (mirror.js). When the owner closes, the next tab in line
 * gets the lock and resumes with `since` = its own `seq`. Without those APIs every tab
 * has its own socket.
 * @module tasksync/live
 */

import { TaskMirror, sortTasks } from "./mirror.js";
import { AuthError, ConflictError, TasksyncError, backoff, tokenClaims } from "./rest.js";
import { SocketSession } from "./socket.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./mirror.js").Change} Change */

/** @typedef {"connecting" | "live" | "offline" | "resyncing" | "closed"} ConnectionState */

/**
 * Which part this tab plays: it holds the shared socket, it is fed by the tab that
 * does, or it has its own socket (the browser lacks Web Locks or BroadcastChannel).
 * @typedef {"leader" | "follower" | "solo"} Role
 */

/**
 * @typedef {object} ConflictInfo
 * @property {"update" | "replace" | "toggle" | "delete"} operation
 * @property {string} id
 * @property {TaskFields | null} attempted  the fields that were not written
 * @property {ConflictError} error
 */

/**
 * @typedef {object} LiveStoreOptions
 * @property {(change: Change) => void} [onChange]
 * @property {(state: ConnectionState, detail: {role: Role | null, code?: number}) => void} [onState]  `code`: how the last socket closed, until live again (1012: the server is restarting)
 * @property {(current: Task, info: ConflictInfo) => void} [onConflict]  a `412`: the write was refused; `current` is the task now
 * @property {(info: {reason: string, seq: number, count: number}) => void} [onResync]
 * @property {(error: Error) => void} [onError]
 * @property {boolean} [shareTabs]  share one socket between the tabs of this browser (default: where supported)
 */

/**
 * What tabs tell each other. `relayed` is the highest seq the leader has relayed: a
 * follower that is behind it (and not reloading) lost a relay.
 * @typedef {{kind: "event", event: TaskEvent}
 *   | {kind: "resync"}
 *   | {kind: "state", state: ConnectionState, relayed: number, code?: number}
 *   | {kind: "query"}} Relay
 */

// The leader announces itself this often, so a follower notices a relay it never got.
const HEARTBEAT_MS = 15_000;
// Fresh tokens refused this many times in a row mean the user is signed out for good.
const AUTH_FAILURES_FATAL = 3;
const CLOSE_NOT_AUTHENTICATED = 4401;
const CLOSE_ORIGIN_REFUSED = 4403;
const CLOSE_TOO_MANY_SOCKETS = 4429;
const CLOSE_BAD_SINCE = 1008;

/**
 * The user's tasks, live. `start()` loads the snapshot and keeps it current. Writes
 * through the store update it at once and send `If-Match` with the version it holds,
 * so an edit made on stale data becomes a conflict (`onConflict`) instead of silently
 * overwriting someone else's change.
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
export class LiveStore {
  /** @param {TasksyncClient} client @param {LiveStoreOptions} [options] */
  constructor(client, options = {}) {
    this.client = client;
    this.options = options;
    this.mirror = new TaskMirror(client, {
      onChange: (change) => options.onChange?.(change),
      onResync: (info) => options.onResync?.(info),
      onSyncing: () => this.refreshState(),
      onError: (error) => this.report(error),
      pause: (ms) => this.pause(ms),
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
    /** @type {BroadcastChannel | null} */
    this.channel = null;
    /** @type {SocketSession | null} */
    this.socket = null;
    /** @type {(() => void) | null} */
    this.wake = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.heartbeat = undefined;
    this.onOnline = () => this.wake?.();
  }

  /** The tasks by id. */
  get tasks() {
    return this.mirror.tasks;
  }

  /** The seq of the last change applied. */
  get seq() {
    return this.mirror.seq;
  }

  /** @param {string} id */
  get(id) {
    return this.mirror.tasks.get(id);
  }

  /** The tasks, filtered and ordered as the server's list would. @param {Parameters<typeof sortTasks>[1]} [query] */
  list(query) {
    return sortTasks(this.mirror.tasks.values(), query);
  }

  /**
   * Load the snapshot, then go live in the background. Resolves once the tasks are
   * loaded; rejects on a fatal error (no token, or one the server refuses).
   */
  async start() {
    if (this.role) throw new Error("a LiveStore starts once");
    const token = await this.client.token();
    const scope = `tasksync:${this.client.baseUrl.href}:${tokenClaims(token)?.sub ?? "?"}`;
    const locks = globalThis.navigator?.locks;
    const share = this.options.shareTabs !== false && locks && typeof BroadcastChannel === "function";
    // Listen before loading: every event after the snapshot's seq is relayed after this.
    if (share) {
      this.channel = new BroadcastChannel(scope);
      this.channel.onmessage = (message) => this.onRelay(message.data);
    }
    this.role = share ? "follower" : "solo";
    globalThis.addEventListener?.("online", this.onOnline);
    this.refreshState();
    await this.mirror.resync("initial");
    if (this.closed) return;
    if (!share) {
      void this.lead();
      return;
    }
    this.post({ kind: "query" });
    locks
      .request(scope, { signal: this.stop.signal }, () => this.lead())
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
    clearInterval(this.heartbeat);
    this.socket?.close();
    this.wake?.();
    this.channel?.close();
    globalThis.removeEventListener?.("online", this.onOnline);
    this.state = "closed";
    this.options.onState?.("closed", { role: this.role });
  }

  // ---- writes -------------------------------------------------------------------

  /** @param {TaskFields & {title: string}} fields */
  async create(fields) {
    const task = await this.client.create(fields);
    this.mirror.applyWrite(task);
    return task;
  }

  /**
   * Change some fields. `ifMatch` defaults to the version this store holds; pass a
   * version to overwrite exactly that one, or `null` for last-writer-wins.
   * @param {string} id @param {TaskFields} changes @param {{ifMatch?: number | null}} [options]
   */
  update(id, changes, { ifMatch } = {}) {
    return this.edit("update", id, changes, ifMatch, (v) => this.client.patch(id, changes, { ifMatch: v }));
  }

  /** @param {string} id @param {TaskFields & {title: string}} fields @param {{ifMatch?: number | null}} [options] */
  replace(id, fields, { ifMatch } = {}) {
    return this.edit("replace", id, fields, ifMatch, (v) => this.client.replace(id, fields, { ifMatch: v }));
  }

  /** @param {string} id @param {{ifMatch?: number | null}} [options] */
  toggle(id, { ifMatch } = {}) {
    return this.edit("toggle", id, null, ifMatch, (v) => this.client.toggle(id, { ifMatch: v }));
  }

  /** Delete; a task that is already gone counts as deleted. @param {string} id @param {{ifMatch?: number | null}} [options] */
  async remove(id, { ifMatch } = {}) {
    try {
      await this.edit("delete", id, null, ifMatch, (v) => this.client.delete(id, { ifMatch: v }));
    } catch (error) {
      if (!(error instanceof TasksyncError && error.status === 404)) throw error;
    }
    this.mirror.forget(id, { mine: true });
  }

  /**
   * @template {Task | null} T
   * @param {ConflictInfo["operation"]} operation @param {string} id @param {TaskFields | null} attempted
   * @param {number | null | undefined} ifMatch @param {(version: number | null) => Promise<T>} send
   * @returns {Promise<T>}
   */
  async edit(operation, id, attempted, ifMatch, send) {
    const version = ifMatch === undefined ? (this.get(id)?.version ?? null) : ifMatch;
    try {
      const result = await send(version);
      if (result) this.mirror.applyWrite(result);
      return result;
    } catch (error) {
      if (error instanceof ConflictError) {
        this.mirror.applyWrite(error.current);
        this.options.onConflict?.(error.current, { operation, id, attempted, error });
      } else if (error instanceof TasksyncError && error.status === 404) {
        this.mirror.forget(id, { mine: false });
      }
      throw error;
    }
  }

  // ---- sharing one socket between tabs ------------------------------------------

  /** Runs with the Web Lock held (or at once without sharing), until the store closes. */
  async lead() {
    if (this.role === "follower") this.role = "leader";
    this.link = "connecting";
    this.refreshState(true);
    if (this.role === "leader") this.heartbeat = setInterval(() => this.announce(), HEARTBEAT_MS);
    await this.runSocket();
  }

  announce() {
    this.post({ kind: "state", state: this.link, relayed: this.relayed, code: this.closeCode });
  }

  /** @param {Relay} message */
  post(message) {
    this.channel?.postMessage(message);
  }

  /** @param {Relay} message */
  onRelay(message) {
    if (this.closed || !message || typeof message !== "object") return;
    if (message.kind === "query") {
      if (this.role === "leader") this.announce();
    } else if (this.role !== "follower") {
      return;
    } else if (message.kind === "event") {
      this.mirror.receive(message.event);
    } else if (message.kind === "resync") {
      void this.mirror.resync("server");
    } else if (message.kind === "state") {
      this.link = message.state;
      this.closeCode = message.code;
      // One sender, in order: every relay it counts has reached this tab already.
      if (!this.mirror.syncing && message.relayed > this.mirror.seq) void this.mirror.resync("gap");
      this.refreshState();
    }
  }

  // ---- the socket ------------------------------------------------------------------

  async runSocket() {
    let attempt = 0;
    let authFailures = 0;
    while (!this.closed) {
      await this.mirror.syncing;
      this.link = "connecting";
      this.refreshState();
      /** @type {import("./socket.js").SessionEnd} */
      let end;
      try {
        end = await this.session(await this.client.token(authFailures > 0));
      } catch (error) {
        if (error instanceof AuthError) return this.fail(error);
        this.report(error); // the token provider failed: retry as after a dropped socket
        end = { code: 0, hello: false };
      }
      if (this.closed) return;
      if (end.hello) attempt = authFailures = 0;
      if (end.code === CLOSE_NOT_AUTHENTICATED && ++authFailures >= AUTH_FAILURES_FATAL) {
        return this.fail(new AuthError("the server refused fresh tokens: signed out"));
      }
      if (end.code === CLOSE_ORIGIN_REFUSED) {
        return this.fail(new Error("the server refused this page's origin (see CORS_ORIGINS)"));
      }
      if (end.code === CLOSE_BAD_SINCE) await this.mirror.resync("since refused");
      if (end.code === CLOSE_TOO_MANY_SOCKETS) attempt = Math.max(attempt, 3);
      this.link = "offline";
      this.closeCode = end.code;
      this.refreshState();
      await this.pause(backoff(attempt++));
    }
  }

  /** One socket, from `since` = this tab's seq, until it closes. @param {string} token */
  async session(token) {
    this.socket = new SocketSession(this.client.socketUrl(this.mirror.seq), this.client.tokens, token, {
      onHello: () => {
        this.closeCode = undefined;
        this.link = "live";
        this.refreshState();
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
      onError: (error) => this.report(error),
    });
    const end = await this.socket.ended;
    this.socket = null;
    return end;
  }

  /** Wait `ms`, or less if the browser comes back online or the store closes. @param {number} ms */
  pause(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve(undefined);
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      if (this.closed) done();
    });
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
