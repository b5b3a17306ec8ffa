/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./mirror.js").TaskMirror} TaskMirror */
/** @typedef {import("./outbox.js").Outbox} Outbox */
/** @typedef {import("./outbox.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./outbox.js").Outcome} Outcome */
/** @typedef {import("./tabs.js").Relay} Relay */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */
export class LiveWrites {
    /** @param {TasksyncClient} client @param {LiveStoreOptions} options */
    constructor(client: TasksyncClient, options: LiveStoreOptions);
    client: import("./rest.js").TasksyncClient;
    options: import("./live_options.js").LiveStoreOptions;
    /** Set by `start()`. @type {Outbox | null} */
    outbox: Outbox | null;
    /** The highest `Tasksync-Seq` of a settled write: the mirror has seen it once `seq` reaches it. */
    writtenSeq: number;
    /** The server's state, which the answers apply to (the store's, set by it). @type {TaskMirror} */
    mirror: TaskMirror;
    /** @param {string} _id @returns {Task | undefined} */
    get(_id: string): Task | undefined;
    /** @returns {boolean} */
    get durable(): boolean;
    /** @param {Relay} _message */
    post(_message: Relay): void;
    /** @param {unknown} _error */
    report(_error: unknown): void;
    /**
     * Create a task (its id is chosen here, so it can be edited before it reaches the
     * server). Resolves, once queued, with the task as it is shown.
     * @example
     * const task = await store.create({ title: "Buy milk", due_date: "2026-12-01" });
     * @param {TaskFields & {title: string}} fields
     * @returns {Promise<Task>}
     */
    create(fields: TaskFields & {
        title: string;
    }): Promise<Task>;
    /**
     * Change some fields. `ifMatch` defaults to the version this store shows; pass a
     * version to overwrite exactly that one, or `null` for last-writer-wins.
     * @example
     * await store.update(id, { title: "Buy oat milk" });
     * @param {string} id @param {TaskFields} changes @param {{ifMatch?: number | null}} [options]
     */
    update(id: string, changes: TaskFields, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<import("./rest.js").Task | undefined>;
    /**
     * Replace the editable fields (`PUT`: omitted optional ones return to their defaults).
     * @example
     * await store.replace(id, { title: "Buy milk", completed: true });
     * @param {string} id @param {TaskFields & {title: string}} fields @param {{ifMatch?: number | null}} [options]
     */
    replace(id: string, fields: TaskFields & {
        title: string;
    }, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<import("./rest.js").Task | undefined>;
    /**
     * Flip `completed`.
     * @example
     * await store.toggle(id);
     * @param {string} id @param {{ifMatch?: number | null}} [options]
     */
    toggle(id: string, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<import("./rest.js").Task | undefined>;
    /**
     * Delete; a task that turns out to be gone already counts as deleted.
     * @example
     * await store.remove(id);
     * @param {string} id @param {{ifMatch?: number | null}} [options]
     */
    remove(id: string, { ifMatch }?: {
        ifMatch?: number | null;
    }): Promise<void>;
    /**
     * @param {import("./outbox.js").Operation} operation @param {string | null} id
     * @param {TaskFields | null} body @param {number | null | undefined} ifMatch
     */
    queue(operation: import("./outbox.js").Operation, id: string | null, body: TaskFields | null, ifMatch: number | null | undefined): Promise<import("./outbox.js").QueuedWrite>;
    /** The server answered a queued write (here, or in the tab that sent it). @param {QueuedWrite} write @param {Outcome} outcome */
    settle(write: QueuedWrite, outcome: Outcome): void;
}
export type Task = import("./rest.js").Task;
export type TaskFields = import("./rest.js").TaskFields;
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type TaskMirror = import("./mirror.js").TaskMirror;
export type Outbox = import("./outbox.js").Outbox;
export type QueuedWrite = import("./outbox.js").QueuedWrite;
export type Outcome = import("./outbox.js").Outcome;
export type Relay = import("./tabs.js").Relay;
export type LiveStoreOptions = import("./live_options.js").LiveStoreOptions;
