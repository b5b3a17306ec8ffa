/** A random id (UUID v4); `crypto.randomUUID` exists only in secure contexts. */
export function newId(): string;
/**
 * The claims of a JWT, read without verifying it: the server verifies; the client only
 * needs `sub` (whose tabs share a socket) and `exp` (when to refresh).
 * @param {string} token
 * @returns {Record<string, any> | null}
 */
export function tokenClaims(token: string): Record<string, any> | null;
/** Exponential backoff with jitter: a random delay in the upper half of the step. */
export function backoff(attempt: number): number;
/**
 * How long to wait before trying again after `attempt` failures: the backoff (at most
 * `maxMs`), or, when the server named a wait (a `429`'s or `503`'s `Retry-After`, in
 * seconds), that wait plus the backoff as jitter: never sooner than the server said,
 * and a fleet of clients refused at once does not come back at once.
 * @param {number} attempt @param {number | null | undefined} serverWait  seconds
 * @param {number} [maxMs]
 */
export function retryDelay(attempt: number, serverWait: number | null | undefined, maxMs?: number): number;
/**
 * The error for an answer of the API (also rebuilt from one relayed by another tab).
 * @param {number} status @param {string} message @param {Record<string, any> | null} problem
 * @param {number | null} [retryAfter]
 * @returns {TasksyncError}
 */
export function answerError(status: number, message: string, problem: Record<string, any> | null, retryAfter?: number | null): TasksyncError;
export function sleep(ms: number): Promise<any>;
/** An error the API (or the network) answered with; `problem` is the RFC 9457 body. */
export class TasksyncError extends Error {
    /**
     * @param {string} message
     * @param {{status?: number, problem?: Record<string, any> | null, cause?: unknown, retryAfter?: number | null}} [details]
     */
    constructor(message: string, { status, problem, cause, retryAfter }?: {
        status?: number;
        problem?: Record<string, any> | null;
        cause?: unknown;
        retryAfter?: number | null;
    });
    /** `0` when the server could not be reached. */
    status: number;
    problem: Record<string, any> | null;
    /**
     * The seconds the server asked to wait before trying again (`Retry-After` of a
     * `429` over a rate limit, or a `503` while its database is away), if it said.
     * @type {number | null}
     */
    retryAfter: number | null;
    /** Whether trying again later may succeed (network errors, 408, 429, 5xx). */
    get retryable(): boolean;
}
/** `401`, or a token provider that returned nothing: the user must sign in again. */
export class AuthError extends TasksyncError {
    /** @param {string} message @param {{status?: number, problem?: Record<string, any> | null}} [details] */
    constructor(message: string, details?: {
        status?: number;
        problem?: Record<string, any> | null;
    });
}
/** `412`: the task changed since the version the write named; `current` is how it is now. */
export class ConflictError extends TasksyncError {
    /** @param {string} message @param {Record<string, any>} problem */
    constructor(message: string, problem: Record<string, any>);
    /** @type {Task} */
    current: Task;
}
/**
 * `403` with a problem whose `type` ends in `quota-exceeded`: the user holds as many
 * tasks as allowed (`limit`); a create succeeds again once one is deleted.
 */
export class QuotaExceededError extends TasksyncError {
    /** @param {string} message @param {Record<string, any>} problem */
    constructor(message: string, problem: Record<string, any>);
    /** The most tasks the user may hold. @type {number | null} */
    limit: number | null;
}
/** Caches the provider's token and asks again shortly before it expires. */
export class TokenSource {
    /** When to ask for a new token: a margin before `exp`; never, for an opaque token. */
    static refreshTime(token: string, now: number): number;
    /** @param {TokenProvider} provider */
    constructor(provider: TokenProvider);
    provider: TokenProvider;
    /** @type {string | null} */
    token: string | null;
    refreshAt: number;
    /** @type {Promise<string> | null} */
    pending: Promise<string> | null;
    /** @param {boolean} [force] ask the provider even if the cached token still looks fresh (after a 401) */
    get(force?: boolean): Promise<string>;
    fetch(): Promise<string>;
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
    constructor({ token, baseUrl, clientId, fetch }: {
        token: TokenProvider;
        baseUrl?: string | URL | undefined;
        clientId?: string | undefined;
        fetch?: typeof globalThis.fetch | undefined;
    });
    /** @type {URL} */
    baseUrl: URL;
    clientId: string;
    tokens: TokenSource;
    fetch: typeof fetch;
    /** The current token (fetched from the provider when needed). */
    token(force?: boolean): Promise<string>;
    /** The user id (`sub`) of the current token, if known yet. */
    get userId(): string | null;
    /**
     * One page of the caller's tasks and the `seq` of that snapshot.
     * @param {{status?: "all" | "pending" | "completed", sort?: "created" | "title" | "due_date", order?: "asc" | "desc", limit?: number, cursor?: string}} [query]
     * @returns {Promise<{items: Task[], seq: number, next_cursor: string | null}>}
     */
    list(query?: {
        status?: "all" | "pending" | "completed";
        sort?: "created" | "title" | "due_date";
        order?: "asc" | "desc";
        limit?: number;
        cursor?: string;
    }): Promise<{
        items: Task[];
        seq: number;
        next_cursor: string | null;
    }>;
    /**
     * Every task, paging through the list; `seq` is the first page's, so replaying the
     * events after it converges even if tasks changed while paging.
     * @returns {Promise<{items: Task[], seq: number}>}
     */
    listAll(): Promise<{
        items: Task[];
        seq: number;
    }>;
    /**
     * @param {TaskFields & {title: string}} fields
     * @param {{idempotencyKey?: string}} [options]
     * @returns {Promise<Task>}
     */
    create(fields: TaskFields & {
        title: string;
    }, { idempotencyKey }?: {
        idempotencyKey?: string;
    }): Promise<Task>;
    /** @param {string} id @returns {Promise<Task>} */
    get(id: string): Promise<Task>;
    /** `PUT`: omitted optional fields return to their defaults. @param {string} id @param {TaskFields & {title: string}} fields @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>} */
    replace(id: string, fields: TaskFields & {
        title: string;
    }, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<Task>;
    /** `PATCH` (JSON merge patch). @param {string} id @param {TaskFields} changes @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>} */
    patch(id: string, changes: TaskFields, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<Task>;
    /** @param {string} id @param {{ifMatch?: number | null}} [options] @returns {Promise<null>} */
    delete(id: string, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<null>;
    /** Flip `completed`. @param {string} id @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>} */
    toggle(id: string, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<Task>;
    /**
     * The change feed: events after `since` (long-polls up to `wait` seconds).
     * @param {number} since @param {{limit?: number, wait?: number}} [options]
     * @returns {Promise<{events: TaskEvent[], seq: number, resync: boolean}>}
     */
    changes(since: number, { limit, wait }?: {
        limit?: number;
        wait?: number;
    }): Promise<{
        events: TaskEvent[];
        seq: number;
        resync: boolean;
    }>;
    /** The WebSocket URL; the token goes in the first message, never here. @param {number | null} since */
    socketUrl(since: number | null): string;
    /**
     * Send a queued write (outbox.js) once: its own `Idempotency-Key`, `X-Client-Id` and
     * preconditions. Resolves with the task the server returned (null for a delete) and
     * the `seq` of the event it recorded (`Tasksync-Seq`).
     * @param {import("./outbox.js").QueuedWrite} write
     * @returns {Promise<{task: Task | null, seq: number | null, replayed: boolean}>}
     */
    send(write: import("./outbox.js").QueuedWrite): Promise<{
        task: Task | null;
        seq: number | null;
        replayed: boolean;
    }>;
    /**
     * @param {string} method @param {string} path
     * @param {{json?: unknown, headers?: Record<string, string>, retries?: number}} [options]
     * @returns {Promise<any>}
     */
    request(method: string, path: string, options?: {
        json?: unknown;
        headers?: Record<string, string>;
        retries?: number;
    }): Promise<any>;
    /**
     * @param {string} method @param {string} path
     * @param {{json?: unknown, headers?: Record<string, string>, retries?: number, signal?: AbortSignal}} [options]
     * @returns {Promise<{body: any, response: Response}>}
     */
    exchange(method: string, path: string, { json, headers, retries, signal }?: {
        json?: unknown;
        headers?: Record<string, string>;
        retries?: number;
        signal?: AbortSignal;
    }): Promise<{
        body: any;
        response: Response;
    }>;
}
export function taskPath(id: string): string;
export type Task = {
    id: string;
    title: string;
    description: string;
    completed: boolean;
    due_date: string | null;
    created_at: string;
    updated_at: string;
    version: number;
};
/**
 * The editable fields (`PUT` needs `title`; `PATCH` takes any subset, `null` clears `due_date`).
 */
export type TaskFields = {
    title?: string;
    description?: string;
    completed?: boolean;
    due_date?: string | null;
};
export type TaskEvent = {
    seq: number;
    type: "task.created" | "task.updated" | "task.deleted";
    /**
     * for `task.deleted` only `{id, version}`
     */
    task: Task;
    /**
     * the `X-Client-Id` of the write that caused it
     */
    origin: string | null;
    at: string;
};
/**
 * A token, or a function returning one (or a promise of one). It is called again when
 * the token it gave is about to expire and after a `401`; returning nothing means
 * "signed out".
 */
export type TokenProvider = string | (() => string | null | undefined | Promise<string | null | undefined>);
