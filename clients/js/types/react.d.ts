/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./mirror.js").TaskQuery} TaskQuery */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./live_options.js").ConnectionState} ConnectionState */
/** @typedef {import("./live_options.js").Role} Role */
/** @typedef {import("./live_options.js").DroppedWrite} DroppedWrite */
/** @typedef {import("./live_options.js").WriteAnswer} WriteAnswer */
/** @typedef {import("./conflicts.js").Conflict} Conflict */
/** @typedef {import("./live.js").LiveStore} LiveStore */
/** @typedef {import("./react_provider.js").TasksyncProviderProps} TasksyncProviderProps */
/**
 * What `useTasksyncStatus` returns, and every list hook with it. Nobody signed in (a
 * provider without a token): `closed`, not loading, everything empty.
 * @typedef {object} LiveStatus
 * @property {boolean} isLoading  true until the stored list or the first snapshot is in (also before `start()`)
 * @property {Error | null} error  `store.error`: why the list cannot load or stay current (a refused token, the API unreachable past `startTimeout`); null once it shows
 * @property {ConnectionState} state  `idle`, `connecting`, `live`, `offline`, `resyncing` or `closed`
 * @property {Role | null} role  which part this tab plays in sharing the socket
 * @property {readonly QueuedWrite[]} pending  `store.pending`: the writes the server has not answered yet, oldest first
 * @property {readonly Conflict[]} conflicts  `store.conflicts`: same-field disagreements waiting for the user's choice
 * @property {readonly DroppedWrite[]} dropped  `store.dropped`: writes the server refused for good, until dismissed
 */
/**
 * What `useLiveTasks` returns; a new object only when something in it may have changed.
 * @typedef {LiveStatus & {tasks: readonly Task[], isPending: (id: string) => boolean}} LiveTasks
 *   `tasks`: `store.list(query)`, queued writes applied, filtered, ordered (empty while
 *   loading); `isPending(id)`: whether a write to that task is still waiting (as of this render)
 */
/**
 * What `useTask` returns: one task and what concerns it alone; a new object only when
 * something in it may have changed.
 * @typedef {object} LiveTask
 * @property {Task | undefined} task  the task with its queued writes applied; undefined while loading, or when there is no such task (deleted, or never here)
 * @property {boolean} isLoading  true until the stored list or the first snapshot is in
 * @property {Error | null} error  as in `useLiveTasks`
 * @property {boolean} isPending  whether a write to this task is still waiting for the server
 * @property {readonly QueuedWrite[]} pending  this task's writes still waiting, oldest first
 * @property {readonly Conflict[]} conflicts  this task's open conflicts
 * @property {readonly DroppedWrite[]} dropped  this task's writes refused for good, until dismissed
 */
/**
 * What `useTaskActions` returns: the store's writes, each settling once the server has
 * applied or refused the write (`store.settled`); the same object for as long as the
 * store is. Offline an action waits until the server is reached; the write shows at
 * once all the same, so a UI that does not need the answer need not await it.
 * @typedef {object} TaskActions
 * @property {(fields: TaskFields & {title: string}) => Promise<WriteAnswer>} create
 * @property {(id: string, changes: TaskFields, options?: {seen?: TaskFields}) => Promise<WriteAnswer>} update
 * @property {(id: string, fields: TaskFields & {title: string}, options?: {seen?: TaskFields}) => Promise<WriteAnswer>} replace
 * @property {(id: string, completed?: boolean) => Promise<WriteAnswer>} complete
 * @property {(id: string) => Promise<WriteAnswer>} delete
 * @property {(conflictOrKey: Conflict | string) => Promise<WriteAnswer>} useMine
 * @property {(conflictOrKey: Conflict | string) => Promise<void>} keepTheirs  nothing is sent: settled once every tab forgot the conflict
 * @property {(writeOrKey?: DroppedWrite | string) => void} dismissDropped
 */
/**
 * The store of the nearest `<TasksyncProvider>` (null while nobody is signed in), or
 * `explicit` when given. Throws outside any provider without one.
 * @example
 * const store = useTasksync();
 * @param {LiveStore | null} [explicit]
 * @returns {LiveStore | null}
 */
export function useTasksync(explicit?: LiveStore | null): LiveStore | null;
/**
 * The connection state, the writes waiting, the conflicts and the dropped writes,
 * without the tasks: for a status bar.
 * @example
 * const { state, pending, dropped } = useTasksyncStatus();
 * @param {LiveStore | null} [store]  default: the provider's
 * @returns {LiveStatus}
 */
export function useTasksyncStatus(store?: LiveStore | null): LiveStatus;
/**
 * The tasks (`store.list(query)`) and everything `useTasksyncStatus` says, kept current.
 * @example
 * const { tasks, isLoading, error, pending, isPending, conflicts, dropped } = useLiveTasks({ status: "pending" });
 * @overload
 * @param {TaskQuery} [query]  compared by value: an inline object literal is fine
 * @returns {LiveTasks}
 */
export function useLiveTasks(query?: import("./mirror.js").TaskQuery | undefined): LiveTasks;
/**
 * The same, for a store the app made (and starts) itself.
 * @overload
 * @param {LiveStore | null} store
 * @param {TaskQuery} [query]
 * @returns {LiveTasks}
 */
export function useLiveTasks(store: LiveStore | null, query?: import("./mirror.js").TaskQuery | undefined): LiveTasks;
/**
 * One task, kept current, with its own pending writes, conflicts and dropped writes: for
 * a detail view or an editor.
 * @example
 * const { task, isPending, conflicts } = useTask(id);
 * if (!task) return null;
 * return <h1 aria-busy={isPending}>{task.title}{conflicts.length > 0 && " (changed elsewhere)"}</h1>;
 * @overload
 * @param {string} id
 * @returns {LiveTask}
 */
export function useTask(id: string): LiveTask;
/**
 * The same, for a store the app made (and starts) itself.
 * @overload
 * @param {LiveStore | null} store
 * @param {string} id
 * @returns {LiveTask}
 */
export function useTask(store: LiveStore | null, id: string): LiveTask;
/**
 * The writes, as actions that settle once the server has applied or refused them.
 * @example
 * const { create } = useTaskActions();
 * const answer = await create({ title });
 * if (answer.status === "dropped") setError(answer.error.message);
 * @param {LiveStore | null} [store]  default: the provider's
 * @returns {TaskActions}
 */
export function useTaskActions(store?: LiveStore | null): TaskActions;
export { TasksyncProvider } from "./react_provider.js";
export type Task = import("./rest.js").Task;
export type TaskFields = import("./rest.js").TaskFields;
export type TaskQuery = import("./mirror.js").TaskQuery;
export type QueuedWrite = import("./writes.js").QueuedWrite;
export type ConnectionState = import("./live_options.js").ConnectionState;
export type Role = import("./live_options.js").Role;
export type DroppedWrite = import("./live_options.js").DroppedWrite;
export type WriteAnswer = import("./live_options.js").WriteAnswer;
export type Conflict = import("./conflicts.js").Conflict;
export type LiveStore = import("./live.js").LiveStore;
export type TasksyncProviderProps = import("./react_provider.js").TasksyncProviderProps;
/**
 * What `useTasksyncStatus` returns, and every list hook with it. Nobody signed in (a
 * provider without a token): `closed`, not loading, everything empty.
 */
export type LiveStatus = {
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
     * which part this tab plays in sharing the socket
     */
    role: Role | null;
    /**
     * `store.pending`: the writes the server has not answered yet, oldest first
     */
    pending: readonly QueuedWrite[];
    /**
     * `store.conflicts`: same-field disagreements waiting for the user's choice
     */
    conflicts: readonly Conflict[];
    /**
     * `store.dropped`: writes the server refused for good, until dismissed
     */
    dropped: readonly DroppedWrite[];
};
/**
 * `tasks`: `store.list(query)`, queued writes applied, filtered, ordered (empty while
 * loading); `isPending(id)`: whether a write to that task is still waiting (as of this render)
 */
export type LiveTasks = LiveStatus & {
    tasks: readonly Task[];
    isPending: (id: string) => boolean;
};
/**
 * What `useTask` returns: one task and what concerns it alone; a new object only when
 * something in it may have changed.
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
     * as in `useLiveTasks`
     */
    error: Error | null;
    /**
     * whether a write to this task is still waiting for the server
     */
    isPending: boolean;
    /**
     * this task's writes still waiting, oldest first
     */
    pending: readonly QueuedWrite[];
    /**
     * this task's open conflicts
     */
    conflicts: readonly Conflict[];
    /**
     * this task's writes refused for good, until dismissed
     */
    dropped: readonly DroppedWrite[];
};
/**
 * What `useTaskActions` returns: the store's writes, each settling once the server has
 * applied or refused the write (`store.settled`); the same object for as long as the
 * store is. Offline an action waits until the server is reached; the write shows at
 * once all the same, so a UI that does not need the answer need not await it.
 */
export type TaskActions = {
    create: (fields: TaskFields & {
        title: string;
    }) => Promise<WriteAnswer>;
    update: (id: string, changes: TaskFields, options?: {
        seen?: TaskFields;
    }) => Promise<WriteAnswer>;
    replace: (id: string, fields: TaskFields & {
        title: string;
    }, options?: {
        seen?: TaskFields;
    }) => Promise<WriteAnswer>;
    complete: (id: string, completed?: boolean) => Promise<WriteAnswer>;
    delete: (id: string) => Promise<WriteAnswer>;
    useMine: (conflictOrKey: Conflict | string) => Promise<WriteAnswer>;
    /**
     * nothing is sent: settled once every tab forgot the conflict
     */
    keepTheirs: (conflictOrKey: Conflict | string) => Promise<void>;
    dismissDropped: (writeOrKey?: DroppedWrite | string) => void;
};
