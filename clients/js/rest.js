// @ts-check
/**
 * The REST half of the Tasksync browser client: `TasksyncClient`, its errors, and the
 * token source behind it. Import from `tasksync.js`.
 * @module tasksync/rest
 */

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
 * @typedef {object} TaskEvent
 * @property {number} seq
 * @property {"task.created" | "task.updated" | "task.deleted"} type
 * @property {Task} task  for `task.deleted` only `{id, version}`
 * @property {string | null} origin  the `X-Client-Id` of the write that caused it
 * @property {string} at
 */

/**
 * A token, or a function returning one (or a promise of one). It is called again when
 * the token it gave is about to expire and after a `401`; returning nothing means
 * "signed out".
 * @typedef {string | (() => string | null | undefined | Promise<string | null | undefined>)} TokenProvider
 */

const SOCKET_PATH = "api/ws";
const PAGE_LIMIT = 500; // the contract's largest list page
// A queued write whose answer has not come by then is given up on and sent again with
// the same key: a dead link (or a proxy that swallows traffic) never answers at all.
const SEND_TIMEOUT_MS = 15_000;
const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 15_000;
// Ask for a new token this long before `exp` (a quarter of the lifetime of a short one).
const REFRESH_MARGIN_MS = 60_000;
// A token that looks due for refresh the moment it arrives (this clock is ahead of the
// issuer's, or the provider hands out a cached token) is kept this long anyway, so the
// provider is not called on every request.
const MIN_TOKEN_REFRESH_MS = 5_000;

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
 * The claims of a JWT, read without verifying it: the server verifies; the client only
 * needs `sub` (whose tabs share a socket) and `exp` (when to refresh).
 * @param {string} token
 * @returns {Record<string, any> | null}
 */
export function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")), (ch) =>
      ch.charCodeAt(0),
    );
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** Exponential backoff with jitter: a random delay in the upper half of the step. */
export function backoff(/** @type {number} */ attempt) {
  const step = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
  return step / 2 + Math.random() * (step / 2);
}

/**
 * How long to wait before trying again after `attempt` failures: the backoff (at most
 * `maxMs`), or, when the server named a wait (a `429`'s or `503`'s `Retry-After`, in
 * seconds), that wait plus the backoff as jitter: never sooner than the server said,
 * and a fleet of clients refused at once does not come back at once.
 * @param {number} attempt @param {number | null | undefined} serverWait  seconds
 * @param {number} [maxMs]
 */
export function retryDelay(attempt, serverWait, maxMs = RETRY_MAX_MS) {
  const jittered = Math.min(maxMs, backoff(attempt));
  return serverWait == null ? jittered : serverWait * 1000 + jittered;
}

export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An error the API (or the network) answered with; `problem` is the RFC 9457 body. */
export class TasksyncError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, problem?: Record<string, any> | null, cause?: unknown, retryAfter?: number | null}} [details]
   */
  constructor(message, { status = 0, problem = null, cause, retryAfter = null } = {}) {
    super(message, { cause });
    this.name = "TasksyncError";
    /** `0` when the server could not be reached. */
    this.status = status;
    this.problem = problem;
    /**
     * The seconds the server asked to wait before trying again (`Retry-After` of a
     * `429` over a rate limit, or a `503` while its database is away), if it said.
     * @type {number | null}
     */
    this.retryAfter = retryAfter;
  }

  /** Whether trying again later may succeed (network errors, 408, 429, 5xx). */
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** `401`, or a token provider that returned nothing: the user must sign in again. */
export class AuthError extends TasksyncError {
  /** @param {string} message @param {{status?: number, problem?: Record<string, any> | null}} [details] */
  constructor(message, details = {}) {
    super(message, { status: 401, ...details });
    this.name = "AuthError";
  }
}

/** `412`: the task changed since the version the write named; `current` is how it is now. */
export class ConflictError extends TasksyncError {
  /** @param {string} message @param {Record<string, any>} problem */
  constructor(message, problem) {
    super(message, { status: 412, problem });
    this.name = "ConflictError";
    /** @type {Task} */
    this.current = problem.current;
  }
}

/**
 * `403` with a problem whose `type` ends in `quota-exceeded`: the user holds as many
 * tasks as allowed (`limit`); a create succeeds again once one is deleted.
 */
export class QuotaExceededError extends TasksyncError {
  /** @param {string} message @param {Record<string, any>} problem */
  constructor(message, problem) {
    super(message, { status: 403, problem });
    this.name = "QuotaExceededError";
    /** The most tasks the user may hold. @type {number | null} */
    this.limit = typeof problem.limit === "number" ? problem.limit : null;
  }
}

/** `Retry-After` in seconds (its delta-seconds form; an HTTP date is ignored). @param {Headers} headers */
function retryAfterOf(headers) {
  const raw = headers.get("Retry-After")?.trim() ?? "";
  return /^\d{1,6}$/.test(raw) ? Number(raw) : null;
}

/** @param {Response} response @param {string} what */
async function errorFrom(response, what) {
  /** @type {Record<string, any> | null} */
  let problem = null;
  try {
    problem = await response.json();
  } catch {
    // not JSON (a proxy's error page): the status says enough
  }
  const detail = problem?.detail ?? response.statusText;
  const message = `${what}: ${response.status} ${detail}`;
  const retryAfter = response.status === 429 || response.status === 503 ? retryAfterOf(response.headers) : null;
  return answerError(response.status, message, problem, retryAfter);
}

/**
 * The error for an answer of the API (also rebuilt from one relayed by another tab).
 * @param {number} status @param {string} message @param {Record<string, any> | null} problem
 * @param {number | null} [retryAfter]
 * @returns {TasksyncError}
 */
export function answerError(status, message, problem, retryAfter = null) {
  if (status === 412 && problem?.current) return new ConflictError(message, problem);
  if (status === 401) return new AuthError(message, { problem });
  if (status === 403 && problem && String(problem.type ?? "").endsWith("quota-exceeded"))
    return new QuotaExceededError(message, problem);
  return new TasksyncError(message, { status, problem, retryAfter });
}

/** Caches the provider's token and asks again shortly before it expires. */
export class TokenSource {
  /** @param {TokenProvider} provider */
  constructor(provider) {
    this.provider = provider;
    /** @type {string | null} */
    this.token = null;
    this.refreshAt = 0;
    /** @type {Promise<string> | null} */
    this.pending = null;
  }

  /** @param {boolean} [force] ask the provider even if the cached token still looks fresh (after a 401) */
  get(force = false) {
    if (this.token && Date.now() < this.refreshAt && !force) return Promise.resolve(this.token);
    this.pending ??= this.fetch().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  async fetch() {
    const token = typeof this.provider === "function" ? await this.provider() : this.provider;
    if (!token) throw new AuthError("signed out: the token provider returned no token");
    const now = Date.now();
    this.token = token;
    const due = TokenSource.refreshTime(token, now);
    this.refreshAt = due > now ? due : now + MIN_TOKEN_REFRESH_MS;
    return token;
  }

  /** When to ask for a new token: a margin before `exp`; never, for an opaque token. */
  static refreshTime(/** @type {string} */ token, /** @type {number} */ now) {
    const claims = tokenClaims(token);
    if (typeof claims?.exp !== "number") return Infinity;
    const exp = claims.exp * 1000;
    const lifetime = exp - (typeof claims.iat === "number" ? claims.iat * 1000 : now);
    return exp - Math.min(REFRESH_MARGIN_MS, Math.max(lifetime, 0) / 4);
  }
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
 * await api.patch(task.id, { completed: true }, { ifMatch: task.version });
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
   * @param {{status?: "all" | "pending" | "completed", sort?: "created" | "title" | "due_date", order?: "asc" | "desc", limit?: number, cursor?: string}} [query]
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

  /** `PATCH` (JSON merge patch). @param {string} id @param {TaskFields} changes @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>} */
  patch(id, changes, { ifMatch } = {}) {
    return this.request("PATCH", taskPath(id), { json: changes, headers: ifMatchHeader(ifMatch) });
  }

  /** @param {string} id @param {{ifMatch?: number | null}} [options] @returns {Promise<null>} */
  delete(id, { ifMatch } = {}) {
    return this.request("DELETE", taskPath(id), { headers: ifMatchHeader(ifMatch) });
  }

  /** Flip `completed`. @param {string} id @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>} */
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
   * Send a queued write (outbox.js) once: its own `Idempotency-Key`, `X-Client-Id` and
   * preconditions. Resolves with the task the server returned (null for a delete) and
   * the `seq` of the event it recorded (`Tasksync-Seq`).
   * @param {import("./outbox.js").QueuedWrite} write
   * @returns {Promise<{task: Task | null, seq: number | null, replayed: boolean}>}
   */
  async send(write) {
    /** @type {Record<string, string>} */
    const headers = { "Idempotency-Key": write.key, "X-Client-Id": write.clientId, ...ifMatchHeader(write.ifMatch) };
    if (write.ifNoneMatch) headers["If-None-Match"] = "*";
    const { body, response } = await this.exchange(write.method, write.path, {
      json: write.body ?? undefined,
      headers,
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
    const seq = Number.parseInt(response.headers.get("Tasksync-Seq") ?? "", 10);
    return { task: body, seq: Number.isFinite(seq) ? seq : null, replayed: response.headers.get("Idempotent-Replayed") === "true" };
  }

  /**
   * @param {string} method @param {string} path
   * @param {{json?: unknown, headers?: Record<string, string>, retries?: number}} [options]
   * @returns {Promise<any>}
   */
  async request(method, path, options = {}) {
    return (await this.exchange(method, path, options)).body;
  }

  /**
   * @param {string} method @param {string} path
   * @param {{json?: unknown, headers?: Record<string, string>, retries?: number, signal?: AbortSignal}} [options]
   * @returns {Promise<{body: any, response: Response}>}
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
