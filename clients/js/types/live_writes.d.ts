/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./mirror.js").TaskMirror} TaskMirror */
/** @typedef {import("./mirror.js").Change} Change */
/** @typedef {import("./outbox.js").Outbox} Outbox */
/** @typedef {import("./outbox.js").Outcome} Outcome */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./answers.js").AnswerPlan} AnswerPlan */
/** @typedef {import("./conflicts.js").Conflict} Conflict */
/** @typedef {import("./conflicts.js").ConflictList} ConflictList */
/** @typedef {import("./tabs.js").Relay} Relay */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */
/** @typedef {import("./live_options.js").DroppedWrite} DroppedWrite */
/**
 * What a write method did here: its value, and the write it queued (null: nothing to send).
 * @template T @typedef {{value: T, write: QueuedWrite | null}} Written
 */
export class LiveWrites {
    /** @param {TasksyncClient} client @param {LiveStoreOptions} options */
    constructor(client: TasksyncClient, options: LiveStoreOptions);
    client: import("./rest.js").TasksyncClient;
    options: import("./live_options.js").LiveStoreOptions;
    /** Set by `start()`. @type {Outbox | null} */
    outbox: Outbox | null;
    /** The open conflicts, as stored; set by `start()`. @type {ConflictList | null} */
    conflictList: ConflictList | null;
    /** The highest `Tasksync-Seq` of a settled write: the mirror has seen it once `seq` reaches it. */
    writtenSeq: number;
    /** The server's state, which the answers apply to (the store's, set by it). @type {TaskMirror} */
    mirror: TaskMirror;
    closed: boolean;
    /** The user signed out (here or in another tab): what this store held is deleted. */
    signedOut: boolean;
    /** The writes the server refused for good since the start, until dismissed. @type {DroppedWrite[]} */
    dropped: DroppedWrite[];
    answers: WriteAnswers;
    /** Forget what a previous start held (`LiveSync.reopen`). */
    reopen(): void;
    /** @param {string} _id @returns {Task | undefined} */
    get(_id: string): Task | undefined;
    /** @returns {boolean} */
    get durable(): boolean;
    /** @param {Relay} _message */
    post(_message: Relay): void;
    /** @param {unknown} _error */
    report(_error: unknown): void;
    /** @param {Change} _change */
    changed(_change: Change): void;
    notify(): void;
    /** `LiveStore.create`. @param {TaskFields & {title: string}} fields @returns {Promise<Written<Task>>} */
    create(fields: TaskFields & {
        title: string;
    }): Promise<Written<Task>>;
    /** `LiveStore.update`. @param {string} id @param {TaskFields} changes @param {{seen?: TaskFields}} [options] */
    update(id: string, changes: TaskFields, options?: {
        seen?: TaskFields;
    }): Promise<Written<import("./rest.js").Task | undefined>>;
    /** `LiveStore.replace`. @param {string} id @param {TaskFields & {title: string}} fields @param {{seen?: TaskFields}} [options] */
    replace(id: string, fields: TaskFields & {
        title: string;
    }, options?: {
        seen?: TaskFields;
    }): Promise<Written<import("./rest.js").Task | undefined>>;
    /** `LiveStore.complete`. @param {string} id @param {boolean} [completed] */
    complete(id: string, completed?: boolean): Promise<Written<import("./rest.js").Task | undefined>>;
    /** Complete the task if it is shown as not done, and the other way round. @param {string} id */
    toggle(id: string): Promise<Written<import("./rest.js").Task | undefined>>;
    /** `LiveStore.delete`. @param {string} id @returns {Promise<Written<undefined>>} */
    remove(id: string): Promise<Written<undefined>>;
    /** `LiveStore.conflicts`. @returns {Conflict[]} */
    get conflicts(): Conflict[];
    /** `LiveStore.keepTheirs`. @param {Conflict | string} conflictOrKey */
    keepTheirs(conflictOrKey: Conflict | string): Promise<void>;
    /** `LiveStore.useMine`. @param {Conflict | string} conflictOrKey @returns {Promise<Written<undefined>>} */
    useMine(conflictOrKey: Conflict | string): Promise<Written<undefined>>;
    /** The outbox, if this store can take a write; otherwise throws (nothing is queued). */
    writable(): import("./outbox.js").Outbox;
    /** The task as shown, or an error: an edit needs the values it is tested against. @param {string} id */
    shown(id: string): import("./rest.js").Task;
    /** @param {string} id @param {TaskFields} wanted @param {TaskFields} [seen] @returns {Promise<Written<Task | undefined>>} */
    edit(id: string, wanted: TaskFields, seen?: TaskFields): Promise<Written<Task | undefined>>;
    /** @param {string} id @param {string[]} fields @returns {string[]} */
    openKeys(id: string, fields: string[]): string[];
    /**
     * Store `write` (and the settling of the conflicts `settles` names, in the same
     * transaction) and tell the other tabs.
     * @param {Outbox} outbox @param {QueuedWrite} write @param {string[]} [settles]
     */
    queue(outbox: Outbox, write: QueuedWrite, settles?: string[]): Promise<import("./writes.js").QueuedWrite>;
    /** @param {string[]} keys */
    settleConflicts(keys: string[]): Promise<void>;
    conflictsChanged(): void;
    /**
     * The server answered a queued write (here, or in the tab that sent it, which stored
     * `plan`, what the answer did to the queue and the conflicts). `echo` only in the tab
     * that made the write.
     * @param {QueuedWrite} write @param {Outcome} outcome @param {AnswerPlan} plan
     */
    settle(write: QueuedWrite, outcome: Outcome, plan: AnswerPlan): void;
    /**
     * Forget a dropped write once the user has seen it (all of them without an argument).
     * @param {DroppedWrite | string} [writeOrKey]  a dropped write, or its `key`
     */
    dismissDropped(writeOrKey?: DroppedWrite | string): void;
    /**
     * Remove the conflicts the server's state settled by itself (the wanted value arrived,
     * or the task is gone), in the tab that keeps the shared state.
     */
    sweepConflicts(): Promise<void>;
}
export type Task = import("./rest.js").Task;
export type TaskFields = import("./rest.js").TaskFields;
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type TaskMirror = import("./mirror.js").TaskMirror;
export type Change = import("./mirror.js").Change;
export type Outbox = import("./outbox.js").Outbox;
export type Outcome = import("./outbox.js").Outcome;
export type QueuedWrite = import("./writes.js").QueuedWrite;
export type AnswerPlan = import("./answers.js").AnswerPlan;
export type Conflict = import("./conflicts.js").Conflict;
export type ConflictList = import("./conflicts.js").ConflictList;
export type Relay = import("./tabs.js").Relay;
export type LiveStoreOptions = import("./live_options.js").LiveStoreOptions;
export type DroppedWrite = import("./live_options.js").DroppedWrite;
/**
 * What a write method did here: its value, and the write it queued (null: nothing to send).
 */
export type Written<T> = {
    value: T;
    write: QueuedWrite | null;
};
import { WriteAnswers } from "./write_answers.js";
