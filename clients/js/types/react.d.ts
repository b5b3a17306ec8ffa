/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./mirror.js").TaskQuery} TaskQuery */
/** @typedef {import("./live_options.js").ConnectionState} ConnectionState */
/** @typedef {import("./live_options.js").Role} Role */
/** @typedef {import("./live.js").LiveStore} LiveStore */
/** @typedef {import("./conflicts.js").Conflict} Conflict */
/**
 * What `useLiveTasks` returns; a new object only when something in it may have changed.
 * @typedef {object} LiveTasks
 * @property {readonly Task[]} tasks  `store.list(query)`: queued writes applied, filtered, ordered
 * @property {ConnectionState} state  `connecting`, `live`, `offline`, `resyncing` or `closed`
 * @property {number} pending  how many queued writes the server has not answered yet
 * @property {Role | null} role  which part this tab plays in sharing the socket
 * @property {readonly Conflict[]} conflicts  `store.conflicts`: same-field disagreements waiting for the user's choice
 */
/**
 * The store's tasks (`store.list(query)`) and connection state, kept current.
 * @example
 * const { tasks, state, pending } = useLiveTasks(store, { status: "pending" });
 * @param {LiveStore} store  started (or being started) by the caller
 * @param {TaskQuery} [query]  compared by value: an inline object literal is fine
 * @returns {LiveTasks}
 */
export function useLiveTasks(store: LiveStore, query?: TaskQuery): LiveTasks;
export type Task = import("./rest.js").Task;
export type TaskQuery = import("./mirror.js").TaskQuery;
export type ConnectionState = import("./live_options.js").ConnectionState;
export type Role = import("./live_options.js").Role;
export type LiveStore = import("./live.js").LiveStore;
export type Conflict = import("./conflicts.js").Conflict;
/**
 * What `useLiveTasks` returns; a new object only when something in it may have changed.
 */
export type LiveTasks = {
    /**
     * `store.list(query)`: queued writes applied, filtered, ordered
     */
    tasks: readonly Task[];
    /**
     * `connecting`, `live`, `offline`, `resyncing` or `closed`
     */
    state: ConnectionState;
    /**
     * how many queued writes the server has not answered yet
     */
    pending: number;
    /**
     * which part this tab plays in sharing the socket
     */
    role: Role | null;
    /**
     * `store.conflicts`: same-field disagreements waiting for the user's choice
     */
    conflicts: readonly Conflict[];
};
