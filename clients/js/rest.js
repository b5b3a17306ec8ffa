// @ts-check
/**
 * The REST half of the Tasksync browser client: `TasksyncClient`, the wire types, and
 * `newId`. Its errors are in errors.js, the token source behind it in tokens.js, the
 * retry delays in retry.js. Import from `tasksync.js`.
 * @module tasksync/rest
 */

import { AuthError, TasksyncError, errorFrom } from "./errors.js";
import { retryDelay, sleep } from "./retry.js";
import { TokenSource, tokenClaims } from "./tokens.js";

/** @typedef {import("./tokens.js").TokenProvider} TokenProvider */

/**
 * @typedef {object} Task
 * @property {string} id
 * @property {string} title
 * @property {string} description
 * @property {boolean} completed
 * @property {string | null} due_date
 * @property {string} created_at
 * @property {string} updated_at
 * @property {number} version
 */

/**
 * The editable fields (`PUT` needs `title`; `PATCH` takes any subset, `null` clears `due_date`).
 * @typedef {{title?: string, description?: string, completed?: boolean, due_date?: string | null}} TaskFields
 */

/**
 * What every change event carries.
 * @typedef {object} EventEnvelope
 * @property {number} seq  its place in the user's change sequence
 * @property {string | null} origin  the `X-Client-Id` of the write that caused it
 * @property {string} at
 */

/** A task was created. @typedef {EventEnvelope & {type: "task.created", task: Task, changed?: null}} TaskCreatedEvent */
/** A task was edited: `changed` lists the fields whose value it set. @typedef {EventEnvelope & {type: "task.updated", task: Task, changed: import("./writes.js").Field[]}} TaskUpdatedEvent */
/** A task was deleted: only its id and the version it had are left. @typedef {EventEnvelope & {type: "task.deleted", task: {id: string, version: number}, changed?: null}} TaskDeletedEvent */

/**
 * One entry of the user's change log, told apart by `type`.
 * @example
 * if (event.type === "task.updated") console.log(event.task.title, event.changed);
 * else if (event.type === "task.deleted") console.log("gone:", event.task.id);
 * @typedef {TaskCreatedEvent | TaskUpdatedEvent | TaskDeletedEvent} TaskEvent
 */

const SOCKET_PATH = "api/ws";
const JSON_PATCH = "application/json-patch+json";
const PAGE_LIMIT = 500; // the contract's largest list page
// A queued write whose answer has not come by then is given up on and sent again with
// the same key: a dead link (or a proxy that swallows traffic) never answers at all.
const SEND_TIMEOUT_MS = 15_000;

/** A random id (UUID v4); `crypto.randomUUID` exists only in secure contexts. */
export function newId() {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === "function") return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * REST access to the Task API for one signed-in user. Every write carries
 * `X-Client-Id` (so its event's `origin` tells this client its own echo), creates carry
 * a fresh `Idempotency-Key` (so their automatic retries never duplicate), and edits
 * take `ifMatch` (a version) for `If-Match`.
 *
 * @example
 * const api = new TasksyncClient({ token: () => sessionStorage.getItem("token") });
 * const task = await api.create({ title: "Buy milk", due_date: "2026-12-01" });
 * await api.complete(task.id, true, { ifMatch: task.version });
 */
export class TasksyncClient {
  /**
   * @param {object} options
   * @param {TokenProvider} options.token
   * @param {string | URL} [options.baseUrl]  where the API lives (default: this page's origin)
   * @param {string} [options.clientId]  default: a new id per client object, i.e. per tab
   * @param {typeof fetch} [options.fetch]
   */
  constructor({ token, baseUrl = globalThis.location?.origin, clientId = newId(), fetch = globalThis.fetch }) {
    if (!baseUrl) throw new TypeError("baseUrl is needed outside a browser page");
    const base = new URL(baseUrl);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    /** @type {URL} */
    this.baseUrl = base;
    this.clientId = clientId;
    this.tokens = new TokenSource(token);
    this.fetch = fetch.bind(globalThis);
  }

  /** The current token (fetched from the provider when needed). */
  token(force = false) {
    return this.tokens.get(force);
  }

  /** The user id (`sub`) of the current token, if known yet. */
  get userId() {
    const sub = this.tokens.token ? tokenClaims(this.tokens.token)?.sub : null;
    return typeof sub === "string" ? sub : null;
  }

  /**
   * One page of the caller's tasks and the `seq` of that snapshot.
   * @param {import("./mirror.js").TaskQuery & {limit?: number, cursor?: string}} [query]
   * @returns {Promise<{items: Task[], seq: number, next_cursor: string | null}>}
   */
  list(query = {}) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value != null) params.set(name, String(value));
    return this.request("GET", `api/tasks?${params}`, { retries: 2 });
  }

  /**
   * Every task, paging through the list; `seq` is the first page's, so replaying the
   * events after it converges even if tasks changed while paging.
   * @returns {Promise<{items: Task[], seq: number}>}
   */
  async listAll() {
    const first = await this.list({ sort: "created", order: "asc", limit: PAGE_LIMIT });
    const items = [...first.items];
    for (let cursor = first.next_cursor; cursor; ) {
      const page = await this.list({ sort: "created", order: "asc", limit: PAGE_LIMIT, cursor });
      items.push(...page.items);
      cursor = page.next_cursor;
    }
    return { items, seq: first.seq };
  }

  /**
   * @param {TaskFields & {title: string}} fields
   * @param {{idempotencyKey?: string}} [options]
   * @returns {Promise<Task>}
   */
  create(fields, { idempotencyKey = newId() } = {}) {
    return this.request("POST", "api/tasks", {
      json: fields,
      headers: { "Idempotency-Key": idempotencyKey },
      retries: 3, // safe: the key makes a repeated create return the first one
    });
  }

  /** @param {string} id @returns {Promise<Task>} */
  get(id) {
    return this.request("GET", taskPath(id), { retries: 2 });
  }

  /** `PUT`: omitted optional fields return to their defaults. @param {string} id @param {TaskFields & {title: string}} fields @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>} */
  replace(id, fields, { ifMatch } = {}) {
    return this.request("PUT", taskPath(id), { json: fields, headers: ifMatchHeader(ifMatch) });
  }

  /**
   * Change some fields: `PATCH` with a JSON merge patch (`If-Match` when given).
   * @example
   * await client.update(id, { title: "Buy oat milk" }, { ifMatch: task.version });
   * @param {string} id @param {TaskFields} changes @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>}
   */
  update(id, changes, { ifMatch } = {}) {
    return this.request("PATCH", taskPath(id), { json: changes, headers: ifMatchHeader(ifMatch) });
  }

  /**
   * @deprecated The name is `update`, as on the store.
   * @param {string} id @param {TaskFields} changes @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>}
   */
  patch(id, changes, options) {
    return this.update(id, changes, options);
  }

  /**
   * Set `completed` (default true), as `update(id, { completed })`.
   * @param {string} id @param {boolean} [completed] @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>}
   */
  complete(id, completed = true, options) {
    return this.update(id, { completed }, options);
  }

  /** @param {string} id @param {{ifMatch?: number | null}} [options] @returns {Promise<null>} */
  delete(id, { ifMatch } = {}) {
    return this.request("DELETE", taskPath(id), { headers: ifMatchHeader(ifMatch) });
  }

  /**
   * Flip `completed` on the server (`PATCH …/complete`).
   * @deprecated A flip of whatever the server has now: `complete(id, completed)` says what the user wants.
   * @param {string} id @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>}
   */
  toggle(id, { ifMatch } = {}) {
    return this.request("PATCH", `${taskPath(id)}/complete`, { headers: ifMatchHeader(ifMatch) });
  }

  /**
   * The change feed: events after `since` (long-polls up to `wait` seconds).
   * @param {number} since @param {{limit?: number, wait?: number}} [options]
   * @returns {Promise<{events: TaskEvent[], seq: number, resync: boolean}>}
   */
  changes(since, { limit, wait } = {}) {
    const params = new URLSearchParams({ since: String(since) });
    if (limit != null) params.set("limit", String(limit));
    if (wait != null) params.set("wait", String(wait));
    return this.request("GET", `api/changes?${params}`);
  }

  /** The WebSocket URL; the token goes in the first message, never here. @param {number | null} since */
  socketUrl(since) {
    const url = new URL(SOCKET_PATH, this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (since != null) url.searchParams.set("since", String(since));
    return url.toString();
  }

  /**
   * Send a queued write (writes.js) once: its own `Idempotency-Key`, `X-Client-Id` and
   * preconditions (an edit's are the `test`s of its JSON Patch body). Resolves with the
   * task the server returned (null for a delete) and the `seq` of the event it recorded
   * (`Tasksync-Seq`).
   * @param {import("./writes.js").QueuedWrite} write
   * @returns {Promise<{task: Task | null, seq: number | null, replayed: boolean}>}
   */
  async send(write) {
    /** @type {Record<string, string>} */
    const headers = { "Idempotency-Key": write.key, "X-Client-Id": write.clientId, ...ifMatchHeader(write.ifMatch) };
    if (write.ifNoneMatch) headers["If-None-Match"] = "*";
    if (Array.isArray(write.body)) headers["Content-Type"] = JSON_PATCH;
    /** @type {{body: Task | null, response: Response}} */
    const { body, response } = await this.exchange(write.method, write.path, {
      json: write.body ?? undefined,
      headers,
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    const seq = Number.parseInt(response.headers.get("Tasksync-Seq") ?? "", 10);
    return { task: body, seq: Number.isFinite(seq) ? seq : null, replayed: response.headers.get("Idempotent-Replayed") === "true" };
  }

  /**
   * One call to the API: its JSON body (null for `204`). `T` is what the caller expects
   * the body to be; nothing checks it.
   * @example
   * const task = await client.request<Task>("GET", `api/tasks/${id}`); // TypeScript
   * @template [T=unknown]
   * @param {string} method @param {string} path
   * @param {{json?: unknown, headers?: Record<string, string>, retries?: number}} [options]
   * @returns {Promise<T>}
   */
  async request(method, path, options = {}) {
    /** @type {{body: T, response: Response}} */
    const answer = await this.exchange(method, path, options);
    return answer.body;
  }

  /**
   * `request`, with the response (its headers). Retries as `retries` allows; a `401`
   * once with a fresh token.
   * @template [T=unknown]
   * @param {string} method @param {string} path
   * @param {{json?: unknown, headers?: Record<string, string>, retries?: number, signal?: AbortSignal}} [options]
   * @returns {Promise<{body: T, response: Response}>}
   */
  async exchange(method, path, { json, headers = {}, retries = 0, signal } = {}) {
    let reauthenticated = false;
    for (let attempt = 0; ; attempt++) {
      const token = await this.tokens.get(reauthenticated);
      /** @type {Record<string, string>} */
      const sent = { Accept: "application/json", Authorization: `Bearer ${token}` };
      if (method !== "GET") sent["X-Client-Id"] = this.clientId;
      if (json !== undefined) sent["Content-Type"] = "application/json";
      Object.assign(sent, headers);
      const body = json === undefined ? undefined : JSON.stringify(json);
      /** @type {TasksyncError} */
      let error;
      try {
        const response = await this.fetch(new URL(path, this.baseUrl), { method, headers: sent, body, cache: "no-store", signal });
        if (response.ok) return { body: response.status === 204 ? null : await response.json(), response };
        error = await errorFrom(response, `${method} /${path.split("?")[0]}`);
      } catch (cause) {
        error = new TasksyncError(`${method} /${path.split("?")[0]}: the server could not be reached`, { cause });
      }
      // A 401 is never processed: once with a fresh token, then it is the caller's.
      if (error instanceof AuthError && !reauthenticated) {
        reauthenticated = true;
        continue;
      }
      if (!error.retryable || attempt >= retries) throw error;
      await sleep(retryDelay(attempt, error.retryAfter));
    }
  }
}

/** @param {string} id */
export const taskPath = (id) => `api/tasks/${encodeURIComponent(id)}`;

/** @param {number | null | undefined} version @returns {Record<string, string>} */
const ifMatchHeader = (version) => (version == null ? {} : { "If-Match": `"${version}"` });
