/**
 * The server's answer to `write` as an outcome; null when there is none yet (the network,
 * a `5xx`, `408`, `429`, a token to renew): the write is sent again with the same key.
 * @param {QueuedWrite} write @param {unknown} error @returns {Outcome | null}
 */
export function outcomeOf(write: QueuedWrite, error: unknown): Outcome | null;
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
    /** Counts this tab's own changes to the queue, so a read that overlapped one is redone. */
    generation: number;
    /** @type {Promise<void> | null} */
    flushing: Promise<void> | null;
    /** @type {(() => void) | null} */
    wakeUp: (() => void) | null;
    closed: boolean;
    /** Read the queue again (another tab changed it). */
    reload(): Promise<void>;
    /**
     * Queue a write, settling the conflicts `settles` names in the same transaction;
     * resolves with the write, numbered, once it is stored.
     * @param {QueuedWrite} write @param {string[]} [settles]  conflict keys
     */
    add(write: QueuedWrite, settles?: string[]): Promise<import("./writes.js").QueuedWrite>;
    /** Another tab settled write `n`. @param {number} n */
    forget(n: number): void;
    /** Send now: the queue has a new write, or the server may be reachable again. */
    wake(): void;
    close(): void;
    flush(): Promise<void>;
    /**
     * Apply an answer to the queue: the write leaves it (or, after a `409`, stays at its
     * head with the fields that held, under a new key), and the later writes of its task
     * follow (answers.js). Planned on the queue as stored, in the transaction that stores
     * the plan, so a write another tab queued meanwhile is not missed; only then is
     * anything told.
     * @param {QueuedWrite} write @param {Outcome} outcome
     */
    settle(write: QueuedWrite, outcome: Outcome): Promise<void>;
    /**
     * Wait `ms`, or less when woken (a new write, back online) or closed; a wake-up within
     * the first `atLeast` ms is ignored. @param {number} ms @param {number} [atLeast]
     */
    pause(ms: number, atLeast?: number): Promise<any>;
}
export type Task = import("./rest.js").Task;
export type QueuedWrite = import("./writes.js").QueuedWrite;
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type TaskStorage = import("./storage.js").TaskStorage;
export type AnswerPlan = import("./answers.js").AnswerPlan;
/**
 * How the server answered a write. `applied`: written (or replayed; a delete of a task
 * already gone counts), `task` as returned (null for a delete), `seq` its event;
 * `conflict`: nothing written, `current` the task now, `conflicts` the failed tests of
 * an edit's `409` (empty for a delete's `412`); `missing`: an edit's `404` (deleted
 * elsewhere); `rejected`: any other `4xx` (invalid, over quota, …).
 */
export type Outcome = {
    kind: "applied";
    task: Task | null;
    seq: number | null;
} | {
    kind: "conflict";
    current: Task;
    conflicts: {
        path: string;
        expected: unknown;
        actual: unknown;
    }[];
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
    /**
     * after the queue and the conflicts were updated in storage
     */
    onSettled: (write: QueuedWrite, outcome: Outcome, plan: AnswerPlan) => void;
    /**
     * the queue changed; `echo`: by this tab's own doing
     */
    onChange: (echo: boolean) => void;
    onError: (error: Error) => void;
};
import { ConflictError } from "./errors.js";
import { TasksyncError } from "./errors.js";
