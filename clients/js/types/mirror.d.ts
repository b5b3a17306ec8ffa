/** Which tasks a list shows: every one, the ones not completed, the completed ones. @typedef {"all" | "pending" | "completed"} TaskStatus */
/** What a list is ordered by (ties in creation order). @typedef {"created" | "title" | "due_date"} TaskSort */
/** @typedef {"asc" | "desc"} SortOrder */
/**
 * Which tasks a list shows, in which order (the server's list parameters).
 * @typedef {{status?: TaskStatus, sort?: TaskSort, order?: SortOrder}} TaskQuery
 */
/**
 * Filter and order tasks as the server's list does, with its defaults (`status=all`,
 * `sort=created`, `order=desc`): `title` case-insensitively, tasks without a `due_date`
 * last in either order, ties in creation order (oldest first).
 * @param {Iterable<Task>} tasks
 * @param {TaskQuery} [query]
 * @returns {Task[]}
 */
export function sortTasks(tasks: Iterable<Task>, { status, sort, order }?: TaskQuery): Task[];
/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/**
 * What `onChange` is told. `echo` is true for this tab's own writes only (their answers
 * and the events they caused), never for another tab's; `type: "snapshot"` means the
 * whole set was reloaded (or restored from storage), `type: "outbox"` that writes were
 * queued or settled, `type: "conflicts"` that conflicts came or went.
 * @typedef {object} Change
 * @property {"snapshot" | "outbox" | "conflicts" | "task.created" | "task.updated" | "task.deleted"} type
 * @property {string | null} id  the task's id (null for a snapshot)
 * @property {Task | null} task  the task as it is now (null when deleted, or for a snapshot)
 * @property {boolean} echo
 * @property {number} seq
 */
/**
 * @typedef {object} MirrorHooks
 * @property {(change: Change) => void} onChange
 * @property {(info: {reason: string, seq: number, count: number}) => void} onResync
 * @property {() => void} onSyncing  a reload started or ended (see `syncing`)
 * @property {(error: unknown) => void} onError
 * @property {(ms: number, atLeast?: number) => Promise<void>} pause  waits before a retry; may end early, never within `atLeast` ms
 */
export class TaskMirror {
    /** @param {TasksyncClient} client @param {MirrorHooks} hooks */
    constructor(client: TasksyncClient, hooks: MirrorHooks);
    client: import("./rest.js").TasksyncClient;
    hooks: MirrorHooks;
    /** @type {Map<string, Task>} */
    tasks: Map<string, Task>;
    /** The seq of the last event applied (or of the snapshot). */
    seq: number;
    /** Events that arrived while a snapshot was loading. @type {TaskEvent[]} */
    pending: TaskEvent[];
    /** The reload in progress, if any. @type {Promise<void> | null} */
    syncing: Promise<void> | null;
    syncReason: string;
    /** Ids this tab deleted, until their delete event: an older update must not revive them. */
    deleted: Set<any>;
    closed: boolean;
    /**
     * Start from a stored mirror instead of a snapshot: the events after `seq` bring it
     * up to date. @param {Task[]} tasks @param {number} seq
     */
    restore(tasks: Task[], seq: number): void;
    /** An event from the socket or from the leader tab. @param {TaskEvent} event */
    receive(event: TaskEvent): void;
    /** @param {TaskEvent} event */
    apply(event: TaskEvent): void;
    /**
     * A task as a write's answer (or a conflict) returned it: newer versions win.
     * @param {Task} task @param {{echo: boolean}} how  `echo`: the answer to this tab's own write
     */
    applyWrite(task: Task, { echo }: {
        echo: boolean;
    }): void;
    /**
     * A task that is gone (deleted by this device, or found missing by a write).
     * @param {string} id @param {{mine: boolean, echo: boolean}} how  `mine`: deleted by a
     * write of this device (an older update must not revive it); `echo`: of this tab
     */
    forget(id: string, { mine, echo }: {
        mine: boolean;
        echo: boolean;
    }): void;
    /**
     * Reload the snapshot, then apply the events that arrived meanwhile; one reload at a
     * time. A transient failure is retried with backoff; a fatal one (signed out) is
     * reported, or rejects the first load.
     * @param {string} reason  "initial", "gap", "server" (the server said resync), …
     */
    resync(reason: string): Promise<void>;
    /** @param {string} reason */
    load(reason: string): Promise<void>;
    /** Apply the buffered events after the snapshot; false if one is missing. */
    drainPending(): boolean;
}
/**
 * Which tasks a list shows: every one, the ones not completed, the completed ones.
 */
export type TaskStatus = "all" | "pending" | "completed";
/**
 * What a list is ordered by (ties in creation order).
 */
export type TaskSort = "created" | "title" | "due_date";
export type SortOrder = "asc" | "desc";
/**
 * Which tasks a list shows, in which order (the server's list parameters).
 */
export type TaskQuery = {
    status?: TaskStatus;
    sort?: TaskSort;
    order?: SortOrder;
};
export type Task = import("./rest.js").Task;
export type TaskEvent = import("./rest.js").TaskEvent;
export type TasksyncClient = import("./rest.js").TasksyncClient;
/**
 * What `onChange` is told. `echo` is true for this tab's own writes only (their answers
 * and the events they caused), never for another tab's; `type: "snapshot"` means the
 * whole set was reloaded (or restored from storage), `type: "outbox"` that writes were
 * queued or settled, `type: "conflicts"` that conflicts came or went.
 */
export type Change = {
    type: "snapshot" | "outbox" | "conflicts" | "task.created" | "task.updated" | "task.deleted";
    /**
     * the task's id (null for a snapshot)
     */
    id: string | null;
    /**
     * the task as it is now (null when deleted, or for a snapshot)
     */
    task: Task | null;
    echo: boolean;
    seq: number;
};
export type MirrorHooks = {
    onChange: (change: Change) => void;
    onResync: (info: {
        reason: string;
        seq: number;
        count: number;
    }) => void;
    /**
     * a reload started or ended (see `syncing`)
     */
    onSyncing: () => void;
    onError: (error: unknown) => void;
    /**
     * waits before a retry; may end early, never within `atLeast` ms
     */
    pause: (ms: number, atLeast?: number) => Promise<void>;
};
