/** A random id (UUID v4); `crypto.randomUUID` exists only in secure contexts. */
export function newId(): string;
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
     * @param {import("./mirror.js").TaskQuery & {limit?: number, cursor?: string}} [query]
     * @returns {Promise<{items: Task[], seq: number, next_cursor: string | null}>}
     */
    list(query?: import("./mirror.js").TaskQuery & {
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
    /**
     * Change some fields: `PATCH` with a JSON merge patch (`If-Match` when given).
     * @example
     * await client.update(id, { title: "Buy oat milk" }, { ifMatch: task.version });
     * @param {string} id @param {TaskFields} changes @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>}
     */
    update(id: string, changes: TaskFields, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<Task>;
    /**
     * @deprecated The name is `update`, as on the store.
     * @param {string} id @param {TaskFields} changes @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>}
     */
    patch(id: string, changes: TaskFields, options?: {
        ifMatch?: number | null;
    }): Promise<Task>;
    /**
     * Set `completed` (default true), as `update(id, { completed })`.
     * @param {string} id @param {boolean} [completed] @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>}
     */
    complete(id: string, completed?: boolean, options?: {
        ifMatch?: number | null;
    }): Promise<Task>;
    /** @param {string} id @param {{ifMatch?: number | null}} [options] @returns {Promise<null>} */
    delete(id: string, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<null>;
    /**
     * Flip `completed` on the server (`PATCH …/complete`).
     * @deprecated A flip of whatever the server has now: `complete(id, completed)` says what the user wants.
     * @param {string} id @param {{ifMatch?: number | null}} [options] @returns {Promise<Task>}
     */
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
     * Send a queued write (writes.js) once: its own `Idempotency-Key`, `X-Client-Id` and
     * preconditions (an edit's are the `test`s of its JSON Patch body). Resolves with the
     * task the server returned (null for a delete) and the `seq` of the event it recorded
     * (`Tasksync-Seq`).
     * @param {import("./writes.js").QueuedWrite} write
     * @returns {Promise<{task: Task | null, seq: number | null, replayed: boolean}>}
     */
    send(write: import("./writes.js").QueuedWrite): Promise<{
        task: Task | null;
        seq: number | null;
        replayed: boolean;
    }>;
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
    request<T = unknown>(method: string, path: string, options?: {
        json?: unknown;
        headers?: Record<string, string>;
        retries?: number;
    }): Promise<T>;
    /**
     * `request`, with the response (its headers). Retries as `retries` allows; a `401`
     * once with a fresh token.
     * @template [T=unknown]
     * @param {string} method @param {string} path
     * @param {{json?: unknown, headers?: Record<string, string>, retries?: number, signal?: AbortSignal}} [options]
     * @returns {Promise<{body: T, response: Response}>}
     */
    exchange<T = unknown>(method: string, path: string, { json, headers, retries, signal }?: {
        json?: unknown;
        headers?: Record<string, string>;
        retries?: number;
        signal?: AbortSignal;
    }): Promise<{
        body: T;
        response: Response;
    }>;
}
export function taskPath(id: string): string;
export type TokenProvider = import("./tokens.js").TokenProvider;
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
/**
 * What every change event carries.
 */
export type EventEnvelope = {
    /**
     * its place in the user's change sequence
     */
    seq: number;
    /**
     * the `X-Client-Id` of the write that caused it
     */
    origin: string | null;
    at: string;
};
/**
 * A task was created.
 */
export type TaskCreatedEvent = EventEnvelope & {
    type: "task.created";
    task: Task;
    changed?: null;
};
/**
 * A task was edited: `changed` lists the fields whose value it set.
 */
export type TaskUpdatedEvent = EventEnvelope & {
    type: "task.updated";
    task: Task;
    changed: import("./writes.js").Field[];
};
/**
 * A task was deleted: only its id and the version it had are left.
 */
export type TaskDeletedEvent = EventEnvelope & {
    type: "task.deleted";
    task: {
        id: string;
        version: number;
    };
    changed?: null;
};
/**
 * One entry of the user's change log, told apart by `type`.
 */
export type TaskEvent = TaskCreatedEvent | TaskUpdatedEvent | TaskDeletedEvent;
import { TokenSource } from "./tokens.js";
