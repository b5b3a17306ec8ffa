/**
 * Open the database for `name` (the store's scope: API origin + user), or a memory
 * store if that cannot be done. Never rejects.
 * @param {string} name @param {{onFallback?: (reason: string) => void}} [hooks]
 * @returns {Promise<TaskStorage>}
 */
export function openStorage(name: string, hooks?: {
    onFallback?: (reason: string) => void;
}): Promise<TaskStorage>;
export class TaskStorage {
    /** @param {string} name @param {{onFallback?: (reason: string) => void}} hooks */
    constructor(name: string, hooks: {
        onFallback?: (reason: string) => void;
    });
    name: string;
    hooks: {
        onFallback?: (reason: string) => void;
    };
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
    /**
     * Hand the memory copy what the caller holds, when falling back mid-session (from
     * `onFallback`, before the write that failed is redone in memory).
     * @param {{tasks: Iterable<Task>, seq: number, outbox: QueuedWrite[]}} state
     */
    seedMemory({ tasks, seq, outbox }: {
        tasks: Iterable<Task>;
        seq: number;
        outbox: QueuedWrite[];
    }): void;
    /** Whether what is stored survives a reload and is shared with the other tabs. */
    get durable(): boolean;
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
    /** Append a write; resolves with it, numbered, once it is stored. @param {QueuedWrite} write @returns {Promise<QueuedWrite>} */
    addWrite(write: QueuedWrite): Promise<QueuedWrite>;
    /**
     * Count one more attempt at sending write `n`, in the same transaction that reads it:
     * resolves with the write as stored, or null if another tab already settled it.
     * @param {number} n @returns {Promise<QueuedWrite | null>}
     */
    claimWrite(n: number): Promise<QueuedWrite | null>;
    /** @param {number} n */
    removeWrite(n: number): Promise<void>;
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
    /** The last write, so callers can wait for it. @type {Promise<void>} */
    saved: Promise<void>;
    /** A task changed (or, with null, the whole set was reloaded). @param {string | null} id */
    note(id: string | null): void;
    save(): Promise<void>;
}
export type Task = import("./rest.js").Task;
export type QueuedWrite = import("./outbox.js").QueuedWrite;
export type MirrorDelta = {
    put: Task[];
    remove: string[];
    seq: number;
    /**
     * a snapshot: everything not in `put` is gone
     */
    replace?: boolean | undefined;
};
