/**
 * A write as data, ready to queue.
 * @param {Operation} operation @param {string | null} id  null: a create, with a new id
 * @param {TaskFields | null} body @param {number | null} ifMatch @param {string} clientId
 * @returns {QueuedWrite}
 */
export function queuedWrite(operation: Operation, id: string | null, body: TaskFields | null, ifMatch: number | null, clientId: string): QueuedWrite;
/**
 * The tasks as they will be once the queued writes are applied, in order, on top of
 * the server's state; each write adds one to the version, as the server will (a create
 * makes version 1), so a write queued after another names the version that one makes.
 * @param {Map<string, Task>} confirmed @param {QueuedWrite[]} writes
 * @returns {Map<string, Task>}
 */
export function overlay(confirmed: Map<string, Task>, writes: QueuedWrite[]): Map<string, Task>;
export class Outbox {
    /** @param {TaskStorage} storage @param {TasksyncClient} client @param {OutboxHooks} hooks */
    constructor(storage: TaskStorage, client: TasksyncClient, hooks: OutboxHooks);
    storage: import("./storage.js").TaskStorage;
    client: import("./rest.js").TasksyncClient;
    hooks: OutboxHooks;
    /** The queue as this tab last read it, oldest first. @type {QueuedWrite[]} */
    writes: QueuedWrite[];
    /**
     * The writes known to be settled: a read of the queue that began before one was
     * removed must not bring it back (numbers are never reused).
     * @type {Set<number>}
     */
    settled: Set<number>;
    /** @type {Promise<void> | null} */
    flushing: Promise<void> | null;
    /** @type {(() => void) | null} */
    wakeUp: (() => void) | null;
    closed: boolean;
    /** Read the queue again (another tab changed it). */
    reload(): Promise<void>;
    /** Queue a write; resolves once it is stored. @param {QueuedWrite} write */
    add(write: QueuedWrite): Promise<QueuedWrite>;
    /** Another tab settled write `n`. @param {number} n */
    forget(n: number): void;
    /** Send now: the queue has a new write, or the server may be reachable again. */
    wake(): void;
    close(): void;
    flush(): Promise<void>;
    /**
     * Wait `ms`, or less when woken (a new write, back online) or closed; a wake-up within
     * the first `atLeast` ms is ignored. @param {number} ms @param {number} [atLeast]
     */
    pause(ms: number, atLeast?: number): Promise<any>;
}
export type Task = import("./rest.js").Task;
export type TaskFields = import("./rest.js").TaskFields;
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type TaskStorage = import("./storage.js").TaskStorage;
export type Operation = "create" | "update" | "replace" | "toggle" | "delete";
export type QueuedWrite = {
    /**
     * its place in the queue (given by storage)
     */
    n?: number | undefined;
    operation: Operation;
    /**
     * the task's id; for a create, chosen here (a UUID)
     */
    id: string;
    method: "PUT" | "PATCH" | "DELETE";
    /**
     * relative to the API's base URL
     */
    path: string;
    body: TaskFields | null;
    /**
     * the version the write was based on (null: last writer wins)
     */
    ifMatch: number | null;
    /**
     * a create: `If-None-Match: *`
     */
    ifNoneMatch: boolean;
    /**
     * its `Idempotency-Key`, the same on every attempt
     */
    key: string;
    /**
     * the `X-Client-Id` of the tab that made it
     */
    clientId: string;
    createdAt: string;
    /**
     * how many times it was sent (its answer may have been lost)
     */
    attempts: number;
};
/**
 * How the server settled a write. `applied`: written (or replayed), `task` as the
 * server returned it (null for a delete), `seq` its event; `conflict`: a `412`, nothing
 * written, `current` the task now; `missing`: a `404` (deleted elsewhere); `rejected`:
 * another `4xx` (invalid, over quota, …).
 */
export type Outcome = {
    kind: "applied";
    task: Task | null;
    seq: number | null;
} | {
    kind: "conflict";
    current: Task;
    error: ConflictError;
} | {
    kind: "missing";
    error: TasksyncError;
} | {
    kind: "rejected";
    error: TasksyncError;
};
export type OutboxHooks = {
    /**
     * whether this tab sends the queue now
     */
    mayFlush: () => boolean;
    onSettled: (write: QueuedWrite, outcome: Outcome) => void;
    /**
     * the queue changed (a write added, settled or reloaded)
     */
    onChange: () => void;
    onError: (error: Error) => void;
};
import { ConflictError } from "./errors.js";
import { TasksyncError } from "./errors.js";
