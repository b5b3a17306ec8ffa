// @ts-check
/**
 * The React binding (`tasksync/react`): `useLiveTasks(store, query?)` renders a
 * `LiveStore`'s tasks, filtered and ordered as `store.list(query)` does, with whether
 * they are still loading, why they cannot load, the connection state, the writes still
 * waiting and the open conflicts; `useTask(store, id)` does the same for one task. Both
 * re-render on every change (a write made here, an event from another device, a
 * conflict, a reconnect). Built on `useSyncExternalStore`, so every component reading
 * one store sees the same state in one render. `react` (18 or later) is a peer
 * dependency; this module is the only one that imports it.
 *
 * @example
 * import { useLiveTasks } from "tasksync/react";
 *
 * function Pending({ store }) {
 *   const { tasks, isLoading, error, isPending } = useLiveTasks(store, { status: "pending" });
 *   if (error) return <p role="alert">{error.message}</p>;
 *   if (isLoading) return <p>Loading…</p>;
 *   return <ul>{tasks.map((t) => <li key={t.id} aria-busy={isPending(t.id)}>{t.title}</li>)}</ul>;
 * }
 * @module tasksync/react
 */

import { useCallback, useRef, useSyncExternalStore } from "react";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./mirror.js").TaskQuery} TaskQuery */
/** @typedef {import("./live_options.js").ConnectionState} ConnectionState */
/** @typedef {import("./live_options.js").Role} Role */
/** @typedef {import("./live.js").LiveStore} LiveStore */
/** @typedef {import("./conflicts.js").Conflict} Conflict */

/**
 * What `useLiveTasks` returns; a new object only when something in it may have changed.
 * @typedef {object} LiveTasks
 * @property {readonly Task[]} tasks  `store.list(query)`: queued writes applied, filtered, ordered (empty while loading)
 * @property {boolean} isLoading  true until the stored list or the first snapshot is in (also before `start()`)
 * @property {Error | null} error  `store.error`: why the list cannot load or stay current (a refused token, the API unreachable past `startTimeout`); null once it shows
 * @property {ConnectionState} state  `idle`, `connecting`, `live`, `offline`, `resyncing` or `closed`
 * @property {number} pending  how many queued writes the server has not answered yet
 * @property {(id: string) => boolean} isPending  whether a write to this task is still waiting (as of this render)
 * @property {Role | null} role  which part this tab plays in sharing the socket
 * @property {readonly Conflict[]} conflicts  `store.conflicts`: same-field disagreements waiting for the user's choice
 */

/**
 * What `useTask` returns; a new object only when something in it may have changed.
 * @typedef {object} LiveTask
 * @property {Task | undefined} task  the task with its queued writes applied; undefined while loading, or when there is no such task (deleted, or never here)
 * @property {boolean} isLoading  true until the stored list or the first snapshot is in
 * @property {boolean} isPending  whether a write to this task is still waiting for the server
 * @property {readonly Conflict[]} conflicts  this task's open conflicts
 */

/**
 * Re-reads `read(store)` on every change of the store, and returns the same value until
 * the store's revision or `key` changes (`useSyncExternalStore` needs a stable snapshot).
 * @template T
 * @param {LiveStore} store @param {string} key @param {(store: LiveStore) => T} read
 * @returns {T}
 */
function useStoreValue(store, key, read) {
  const cache = useRef(/** @type {{store: LiveStore, revision: number, key: string, value: T} | null} */ (null));
  const subscribe = useCallback((/** @type {() => void} */ onChange) => store.subscribe(onChange), [store]);
  const snapshot = () => {
    const last = cache.current;
    if (last && last.store === store && last.revision === store.revision && last.key === key) return last.value;
    const value = read(store);
    cache.current = { store, revision: store.revision, key, value };
    return value;
  };
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/**
 * The store's tasks (`store.list(query)`), whether they are loading, and its connection
 * state, kept current.
 * @example
 * const { tasks, isLoading, error, pending, isPending } = useLiveTasks(store, { status: "pending" });
 * @param {LiveStore} store  started (or being started) by the caller
 * @param {TaskQuery} [query]  compared by value: an inline object literal is fine
 * @returns {LiveTasks}
 */
export function useLiveTasks(store, query) {
  const key = JSON.stringify([query?.status, query?.sort, query?.order]);
  return useStoreValue(store, key, () => {
    const waiting = new Set(store.pending.map((write) => write.id));
    /** @type {LiveTasks} */
    const value = {
      tasks: Object.freeze(store.list(query)),
      isLoading: !store.loaded,
      error: store.error,
      state: store.state,
      pending: store.pending.length,
      isPending: (id) => waiting.has(id),
      role: store.role,
      conflicts: Object.freeze(store.conflicts),
    };
    return Object.freeze(value);
  });
}

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
export function useTask(store, id) {
  return useStoreValue(store, id, () => {
    /** @type {LiveTask} */
    const value = {
      task: store.get(id),
      isLoading: !store.loaded,
      isPending: store.isPending(id),
      conflicts: Object.freeze(store.conflicts.filter((conflict) => conflict.taskId === id)),
    };
    return Object.freeze(value);
  });
}
