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
    /**
     * Create a task (its id is chosen here, so it can be edited before it reaches the
     * server). Resolves, once queued, with the task as it is shown. Rejects with a
     * `StoreClosedError`, queuing nothing, if the store is not started, closed or signed out.
     * @example
     * const task = await store.create({ title: "Buy milk", due_date: "2026-12-01" });
     * @param {TaskFields & {title: string}} fields
     * @returns {Promise<Task>}
     */
    create(fields: TaskFields & {
        title: string;
    }): Promise<Task>;
    /**
     * Change some fields: only those that differ from what is shown are queued, each
     * tested against the value shown, so another device's change of another field merges.
     * An edit made in a form opened earlier passes `seen`, the values the form showed
     * (only for fields in `changes`; any other key throws a `TypeError`): those fields are
     * tested against them, so a change made elsewhere meanwhile becomes a conflict instead
     * of being overwritten, and a field left as the form showed it is not sent. Resolves
     * with the task as shown.
     * @example
     * await store.update(id, { title: "Buy oat milk" });
     * await store.update(id, { title: input.value }, { seen: { title: titleWhenOpened } });
     * @param {string} id @param {TaskFields} changes @param {{seen?: TaskFields}} [options]
     */
    update(id: string, changes: TaskFields, options?: {
        seen?: TaskFields;
    }): Promise<import("./rest.js").Task | undefined>;
    /**
     * Set every editable field: those omitted return to their defaults (`""`, `false`,
     * `null`). Queued, as any edit, as the fields that change; `seen` as in `update`
     * (any editable field may be named: they all change).
     * @example
     * await store.replace(id, { title: "Buy milk", completed: true });
     * @param {string} id @param {TaskFields & {title: string}} fields @param {{seen?: TaskFields}} [options]
     */
    replace(id: string, fields: TaskFields & {
        title: string;
    }, options?: {
        seen?: TaskFields;
    }): Promise<import("./rest.js").Task | undefined>;
    /**
     * Set `completed` (never a blind flip: another device completing it too agrees).
     * @example
     * await store.complete(id); // done
     * await store.complete(id, false); // not done after all
     * @param {string} id @param {boolean} [completed]
     */
    complete(id: string, completed?: boolean): Promise<import("./rest.js").Task | undefined>;
    /**
     * Complete the task if it is shown as not done, and the other way round.
     * @example
     * checkbox.onchange = () => store.toggle(id);
     * @param {string} id
     */
    toggle(id: string): Promise<import("./rest.js").Task | undefined>;
    /**
     * Delete, with `If-Match` the version this device has confirmed: a task another device
     * changed meanwhile is not deleted but becomes a conflict. A task that turns out to be
     * gone already counts as deleted; one not shown here is nothing to do.
     * @example
     * await store.remove(id);
     * @param {string} id
     */
    remove(id: string): Promise<void>;
    /**
     * The conflicts the user has not settled yet (every tab's), by key; `server` is
     * the server's value as this device knows it now.
     * @example
     * for (const c of store.conflicts) show(c.field, c.seen, c.wanted, c.server);
     * @returns {Conflict[]}
     */
    get conflicts(): Conflict[];
    /**
     * Settle a conflict with the server's value: it goes (from every tab), nothing is sent.
     * @example
     * await store.keepTheirs(conflict);
     * @param {Conflict | string} conflictOrKey  a conflict, or its `key`
     */
    keepTheirs(conflictOrKey: Conflict | string): Promise<void>;
    /**
     * Settle a conflict with this device's value: it goes (from every tab), and `wanted` is
     * queued as a new edit tested against the value shown now (for a delete, a delete of
     * the version shown now).
     * @example
     * await store.useMine("0b6c…/title");
     * @param {Conflict | string} conflictOrKey  a conflict, or its `key`
     */
    useMine(conflictOrKey: Conflict | string): Promise<void>;
    /** The outbox, if this store can take a write; otherwise throws (nothing is queued). */
    writable(): import("./outbox.js").Outbox;
    /** The task as shown, or an error: an edit needs the values it is tested against. @param {string} id */
    shown(id: string): import("./rest.js").Task;
    /** @param {string} id @param {TaskFields} wanted @param {TaskFields} [seen] */
    edit(id: string, wanted: TaskFields, seen?: TaskFields): Promise<import("./rest.js").Task | undefined>;
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
