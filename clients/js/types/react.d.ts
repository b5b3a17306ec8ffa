/**
 * The store's tasks (`store.list(query)`), whether they are loading, and its connection
 * state, kept current.
 * @example
 * const { tasks, isLoading, error, pending, isPending } = useLiveTasks(store, { status: "pending" });
 * @param {LiveStore} store  started (or being started) by the caller
 * @param {TaskQuery} [query]  compared by value: an inline object literal is fine
 * @returns {LiveTasks}
 */
export function useLiveTasks(store: LiveStore, query?: TaskQuery): LiveTasks;
/**
 * One task, kept current: for a detail view or an editor.
 * @example
 * const { task, isPending, conflicts } = useTask(store, id);
 * if (!task) return null;
 * return <h1 aria-busy={isPending}>{task.title}{conflicts.length > 0 && " (changed elsewhere)"}</h1>;
 * @param {LiveStore} store  started (or being started) by the caller
 * @param {string} id
 * @returns {LiveTask}
 */
export function useTask(store: LiveStore, id: string): LiveTask;
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
     * `store.list(query)`: queued writes applied, filtered, ordered (empty while loading)
     */
    tasks: readonly Task[];
    /**
     * true until the stored list or the first snapshot is in (also before `start()`)
     */
    isLoading: boolean;
    /**
     * `store.error`: why the list cannot load or stay current (a refused token, the API unreachable past `startTimeout`); null once it shows
     */
    error: Error | null;
    /**
     * `idle`, `connecting`, `live`, `offline`, `resyncing` or `closed`
     */
    state: ConnectionState;
    /**
     * how many queued writes the server has not answered yet
     */
    pending: number;
    /**
     * whether a write to this task is still waiting (as of this render)
     */
    isPending: (id: string) => boolean;
    /**
     * which part this tab plays in sharing the socket
     */
    role: Role | null;
    /**
     * `store.conflicts`: same-field disagreements waiting for the user's choice
     */
    conflicts: readonly Conflict[];
};
/**
 * What `useTask` returns; a new object only when something in it may have changed.
 */
export type LiveTask = {
    /**
     * the task with its queued writes applied; undefined while loading, or when there is no such task (deleted, or never here)
     */
    task: Task | undefined;
    /**
     * true until the stored list or the first snapshot is in
     */
    isLoading: boolean;
    /**
     * whether a write to this task is still waiting for the server
     */
    isPending: boolean;
    /**
     * this task's open conflicts
     */
    conflicts: readonly Conflict[];
};
