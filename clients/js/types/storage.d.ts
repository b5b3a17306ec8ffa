/**
 * Open the database for `name` (the store's scope: API origin + user), or a memory
 * store if that cannot be done. Never rejects.
 * @param {string} name @param {StorageHooks} [hooks]
 * @returns {Promise<TaskStorage>}
 */
export function openStorage(name: string, hooks?: StorageHooks): Promise<TaskStorage>;
/**
 * @typedef {object} StorageHooks
 * @property {(reason: string) => void} [onFallback]
 * @property {() => void} [onDeleted]  another tab deleted the database: the user signed out
 */
export class TaskStorage {
    /** @param {string} name @param {StorageHooks} hooks */
    constructor(name: string, hooks: StorageHooks);
    name: string;
    hooks: StorageHooks;
    /** @type {IDBDatabase | null} */
    db: IDBDatabase | null;
    /** Why storage is in memory only, or null while IndexedDB holds it. @type {string | null} */
    fallbackReason: string | null;
    /** @type {Map<string, Task>} */
    memTasks: Map<string, Task>;
    /** @type {number | null} */
    memSeq: number | null;
    /** @type {QueuedWrite[]} */
    memOutbox: QueuedWrite[];
    memNext: number;
    /** @type {Map<string, Conflict>} */
    memConflicts: Map<string, Conflict>;
    /** @type {string | null} */
    memAccepted: string | null;
    /**
     * Hand the memory copy what the caller holds, when falling back mid-session (from
     * `onFallback`, before the write that failed is redone in memory).
     * @param {{tasks: Iterable<Task>, seq: number, outbox: QueuedWrite[], conflicts: Conflict[]}} state
     */
    seedMemory({ tasks, seq, outbox, conflicts }: {
        tasks: Iterable<Task>;
        seq: number;
        outbox: QueuedWrite[];
        conflicts: Conflict[];
    }): void;
    /** Whether what is stored survives a reload and is shared with the other tabs. */
    get durable(): boolean;
    /** Another tab deleted the database (signing the user out). */
    deleted(): void;
    /** Switch to memory, keeping what the caller hands over. @param {string} reason */
    fallBack(reason: string): void;
    /**
     * Run `work` against IndexedDB; if that fails (quota, a closed database), fall back
     * to memory and run `memory` instead, so the data is not lost.
     * @template T
     * @param {(db: IDBDatabase) => Promise<T>} work @param {() => T} memory
     * @returns {Promise<T>}
     */
    run<T>(work: (db: IDBDatabase) => Promise<T>, memory: () => T): Promise<T>;
    /** The stored mirror; `seq` null when nothing was stored yet. @returns {Promise<{tasks: Task[], seq: number | null}>} */
    readMirror(): Promise<{
        tasks: Task[];
        seq: number | null;
    }>;
    /** Apply a change to the stored mirror, in one transaction. @param {MirrorDelta} delta */
    writeMirror(delta: MirrorDelta): Promise<void>;
    /** The queued writes, oldest first. @returns {Promise<QueuedWrite[]>} */
    readOutbox(): Promise<QueuedWrite[]>;
    /**
     * Store changes to the queue and the conflicts in one transaction; resolves, once
     * stored, with the added write numbered (null without one).
     * @param {QueueDelta} delta @returns {Promise<QueuedWrite | null>}
     */
    commit(delta: QueueDelta): Promise<QueuedWrite | null>;
    /**
     * Read the queue and change it in one transaction: `change` sees the queued writes as
     * stored (oldest first) and says what to store, so no other tab's write slips between
     * the reading and the writing. Resolves with the added write, numbered.
     * @param {(writes: QueuedWrite[]) => QueueDelta} change @returns {Promise<QueuedWrite | null>}
     */
    updateQueue(change: (writes: QueuedWrite[]) => QueueDelta): Promise<QueuedWrite | null>;
    /** The open conflicts. @returns {Promise<Conflict[]>} */
    readConflicts(): Promise<Conflict[]>;
    /**
     * Remove the conflicts `settled` says the server's state has settled, judged on what
     * is stored; resolves with their keys.
     * @param {(conflict: Conflict) => boolean} settled @returns {Promise<string[]>}
     */
    removeConflictsWhere(settled: (conflict: Conflict) => boolean): Promise<string[]>;
    /**
     * Count one more attempt at sending write `n`, in the same transaction that reads it:
     * resolves with the write as stored, or null if another tab already settled it.
     * @param {number} n @returns {Promise<QueuedWrite | null>}
     */
    claimWrite(n: number): Promise<QueuedWrite | null>;
    /** The hash of the token the server last accepted for this database, if any. @returns {Promise<string | null>} */
    readAccepted(): Promise<string | null>;
    /** Remember that the server accepted the token with this hash. @param {string} hash */
    writeAccepted(hash: string): Promise<void>;
    /**
     * The session ended (the server refused the token for good, or the provider has none):
     * forget the accepted token and, unless the outbox or the conflicts hold something the
     * user did, the mirror too. One transaction, not a deleted database: a write another
     * tab queues meanwhile is either seen here (and kept) or lands after the clearing, never
     * lost with the rest. Resolves with what was kept.
     * @returns {Promise<{writes: number, conflicts: number}>}
     */
    endSession(): Promise<{
        writes: number;
        conflicts: number;
    }>;
    /** Delete everything stored for this user (signing out). Other tabs' connections close first. */
    clear(): Promise<void>;
    close(): void;
}
/**
 * Keeps the stored mirror up to date with a `TaskMirror`: the tasks each change touched
 * and the new `seq`, in one transaction per burst of changes (a replay of many events
 * is one write, not one per event).
 */
export class MirrorKeeper {
    /** @param {TaskStorage} storage @param {{tasks: Map<string, Task>, seq: number}} mirror */
    constructor(storage: TaskStorage, mirror: {
        tasks: Map<string, Task>;
        seq: number;
    });
    storage: TaskStorage;
    mirror: {
        tasks: Map<string, Task>;
        seq: number;
    };
    /** @type {Set<string>} */
    dirty: Set<string>;
    replace: boolean;
    scheduled: boolean;
    /** Set when the session ends: nothing more is written (what is kept was decided). */
    stopped: boolean;
    /** The last write, so callers can wait for it. @type {Promise<void>} */
    saved: Promise<void>;
    /** Write nothing more: the session ended, and what is kept was decided. */
    stop(): void;
    /** A task changed (or, with null, the whole set was reloaded). @param {string | null} id */
    note(id: string | null): void;
    save(): Promise<void>;
}
export type Task = import("./rest.js").Task;
export type QueuedWrite = import("./writes.js").QueuedWrite;
export type Conflict = import("./conflicts.js").Conflict;
export type MirrorDelta = {
    put: Task[];
    remove: string[];
    seq: number;
    /**
     * a snapshot: everything not in `put` is gone
     */
    replace?: boolean | undefined;
};
/**
 * Changes to the queue and the conflicts, stored in one transaction.
 */
export type QueueDelta = {
    /**
     * a new write, numbered at the end of the queue
     */
    add?: import("./writes.js").QueuedWrite | undefined;
    /**
     * queued writes changed in place (same `n`)
     */
    put?: import("./writes.js").QueuedWrite[] | undefined;
    /**
     * queued writes that leave the queue
     */
    remove?: number[] | undefined;
    /**
     * each replaces any conflict of its key
     */
    putConflicts?: import("./conflicts.js").Conflict[] | undefined;
    removeConflicts?: string[] | undefined;
};
export type StorageHooks = {
    onFallback?: ((reason: string) => void) | undefined;
    /**
     * another tab deleted the database: the user signed out
     */
    onDeleted?: (() => void) | undefined;
};
