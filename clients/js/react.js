// @ts-check
/**
 * The React binding (`tasksync/react`). `<TasksyncProvider>` (react_provider.js) makes,
 * starts and closes the signed-in user's `LiveStore`; below it, `useLiveTasks(query?)`
 * renders the tasks (filtered and ordered as `store.list(query)`) with whether they are
 * loading, why they cannot load, the connection state, the writes still waiting, the
 * open conflicts and the writes refused for good; `useTask(id)` does the same for one
 * task; `useTaskActions()` writes, each action settling once the server has applied or
 * refused the write; `useTasksyncStatus()` is the state without the tasks;
 * `useTasksync()` is the store itself. Every hook also takes a store as its first
 * argument, for an app that makes its own. They re-render on every change (a write made
 * here, an event from another device, a conflict, a reconnect), through
 * `useSyncExternalStore`, so every component reading one store sees the same state in
 * one render. `react` (18 or later) is a peer dependency; only this module and the
 * provider's import it.
 *
 * @example
 * import { TasksyncProvider, useLiveTasks, useTaskActions } from "tasksync/react";
 *
 * <TasksyncProvider token={token}><Pending /></TasksyncProvider>;
 *
 * function Pending() {
 *   const { tasks, isLoading, error, isPending } = useLiveTasks({ status: "pending" });
 *   const { complete } = useTaskActions();
 *   if (isLoading) return error ? <p role="alert">{error.message}</p> : <p>Loading…</p>;
 *   return <ul>{tasks.map((t) => <li key={t.id} aria-busy={isPending(t.id)} onClick={() => complete(t.id)}>{t.title}</li>)}</ul>;
 * }
 * @module tasksync/react
 */

import { useCallback, useContext, useMemo, useRef, useSyncExternalStore } from "react";
import { StoreClosedError } from "./errors.js";
import { StoreContext } from "./react_provider.js";

export { TasksyncProvider } from "./react_provider.js";

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
export function useTasksync(explicit) {
  const provided = useContext(StoreContext);
  if (explicit !== undefined) return explicit;
  if (provided === undefined) throw new Error("tasksync/react: no <TasksyncProvider> above, and no store given");
  return provided;
}

/**
 * Re-reads `read(store)` on every change of the store, and returns the same value until
 * the store, its revision or `key` changes (`useSyncExternalStore` needs a stable snapshot).
 * @template T
 * @param {LiveStore | null} store @param {string} key @param {(store: LiveStore | null) => T} read
 * @returns {T}
 */
function useStoreValue(store, key, read) {
  const cache = useRef(/** @type {{store: LiveStore | null, revision: number, key: string, value: T} | null} */ (null));
  const subscribe = useCallback((/** @type {() => void} */ onChange) => store?.subscribe(onChange) ?? (() => {}), [store]);
  const snapshot = () => {
    const last = cache.current;
    const revision = store?.revision ?? 0;
    if (last && last.store === store && last.revision === revision && last.key === key) return last.value;
    const value = read(store);
    cache.current = { store, revision, key, value };
    return value;
  };
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** @param {LiveStore | null} store @returns {LiveStatus} */
function statusOf(store) {
  return {
    isLoading: store?.isLoading ?? false,
    error: store?.error ?? null,
    state: store?.state ?? "closed",
    role: store?.role ?? null,
    pending: Object.freeze(store?.pending ?? []),
    conflicts: Object.freeze(store?.conflicts ?? []),
    dropped: store?.dropped ?? [],
  };
}

/**
 * The connection state, the writes waiting, the conflicts and the dropped writes,
 * without the tasks: for a status bar.
 * @example
 * const { state, pending, dropped } = useTasksyncStatus();
 * @param {LiveStore | null} [store]  default: the provider's
 * @returns {LiveStatus}
 */
export function useTasksyncStatus(store) {
  const live = useTasksync(store);
  return useStoreValue(live, "", () => Object.freeze(statusOf(live)));
}

/**
 * The tasks (`store.list(query)`) and everything `useTasksyncStatus` says, kept current.
 * @example
 * const { tasks, isLoading, error, pending, isPending, conflicts, dropped } = useLiveTasks({ status: "pending" });
 * @overload
 * @param {TaskQuery} [query]  compared by value: an inline object literal is fine
 * @returns {LiveTasks}
 */
/**
 * The same, for a store the app made (and starts) itself.
 * @overload
 * @param {LiveStore | null} store
 * @param {TaskQuery} [query]
 * @returns {LiveTasks}
 */
/**
 * @param {LiveStore | TaskQuery | null} [storeOrQuery] @param {TaskQuery} [query]
 * @returns {LiveTasks}
 */
export function useLiveTasks(storeOrQuery, query) {
  // Told apart by shape, not `instanceof`: an app bundled with two copies of the package still works.
  const explicit = storeOrQuery === null || (typeof storeOrQuery === "object" && "subscribe" in storeOrQuery);
  const store = useTasksync(explicit ? storeOrQuery : undefined);
  const asked = explicit ? query : /** @type {TaskQuery | undefined} */ (storeOrQuery);
  const key = JSON.stringify([asked?.status, asked?.sort, asked?.order]);
  return useStoreValue(store, key, () => {
    const status = statusOf(store);
    const waiting = new Set(status.pending.map((write) => write.id));
    /** @type {LiveTasks} */
    const value = {
      ...status,
      tasks: Object.freeze(store?.list(asked) ?? []),
      isPending: (id) => waiting.has(id),
    };
    return Object.freeze(value);
  });
}

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
/**
 * The same, for a store the app made (and starts) itself.
 * @overload
 * @param {LiveStore | null} store
 * @param {string} id
 * @returns {LiveTask}
 */
/**
 * @param {LiveStore | string | null} storeOrId @param {string} [id]
 * @returns {LiveTask}
 */
export function useTask(storeOrId, id) {
  const explicit = typeof storeOrId !== "string";
  const store = useTasksync(explicit ? storeOrId : undefined);
  const taskId = explicit ? /** @type {string} */ (id) : storeOrId;
  return useStoreValue(store, taskId, () => {
    const status = statusOf(store);
    const pending = Object.freeze(status.pending.filter((write) => write.id === taskId));
    /** @type {LiveTask} */
    const value = {
      task: store?.get(taskId),
      isLoading: status.isLoading,
      error: status.error,
      isPending: pending.length > 0,
      pending,
      conflicts: Object.freeze(status.conflicts.filter((conflict) => conflict.taskId === taskId)),
      dropped: Object.freeze(status.dropped.filter((write) => write.id === taskId)),
    };
    return Object.freeze(value);
  });
}

/**
 * The writes, as actions that settle once the server has applied or refused them.
 * @example
 * const { create } = useTaskActions();
 * const answer = await create({ title });
 * if (answer.status === "dropped") setError(answer.error.message);
 * @param {LiveStore | null} [store]  default: the provider's
 * @returns {TaskActions}
 */
export function useTaskActions(store) {
  const live = useTasksync(store);
  return useMemo(() => {
    /** @template T @param {(store: LiveStore) => Promise<T>} write @returns {Promise<WriteAnswer>} */
    const settled = (write) => {
      if (!live) return Promise.reject(new StoreClosedError("nobody is signed in"));
      const queued = write(live);
      queued.catch(() => {}); // a write that could not be queued: `settled` rejects with it
      return live.settled(queued);
    };
    /** @type {TaskActions} */
    const actions = {
      create: (fields) => settled((s) => s.create(fields)),
      update: (id, changes, options) => settled((s) => s.update(id, changes, options)),
      replace: (id, fields, options) => settled((s) => s.replace(id, fields, options)),
      complete: (id, completed) => settled((s) => s.complete(id, completed)),
      delete: (id) => settled((s) => s.delete(id)),
      useMine: (conflictOrKey) => settled((s) => s.useMine(conflictOrKey)),
      keepTheirs: (conflictOrKey) =>
        live ? live.keepTheirs(conflictOrKey) : Promise.reject(new StoreClosedError("nobody is signed in")),
      dismissDropped: (writeOrKey) => live?.dismissDropped(writeOrKey),
    };
    return Object.freeze(actions);
  }, [live]);
}
