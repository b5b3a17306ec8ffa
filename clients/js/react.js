// @ts-check
/**
 * The React binding (`tasksync/react`): `useLiveTasks(store, query?)` renders a
 * `LiveStore`'s tasks, filtered and ordered as `store.list(query)` does, and its
 * connection state and open conflicts, and re-renders on every change (a write made
 * here, an event from another device, a conflict, a reconnect). Built on `useSyncExternalStore`, so every component
 * reading one store sees the same state in one render. `react` (18 or later) is a peer
 * dependency; this module is the only one that imports it.
 *
 * @example
 * import { useLiveTasks } from "tasksync/react";
 *
 * function Pending({ store }) {
 *   const { tasks, state, pending } = useLiveTasks(store, { status: "pending", sort: "due_date", order: "asc" });
 *   return <ul data-state={state}>{tasks.map((t) => <li key={t.id}>{t.title}</li>)}</ul>;
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
export function useLiveTasks(store, query) {
  const key = JSON.stringify([query?.status, query?.sort, query?.order]);
  const cache = useRef(/** @type {{store: LiveStore, revision: number, key: string, value: LiveTasks} | null} */ (null));
  const subscribe = useCallback((/** @type {() => void} */ onChange) => store.subscribe(onChange), [store]);
  const snapshot = () => {
    const last = cache.current;
    if (last && last.store === store && last.revision === store.revision && last.key === key) return last.value;
    /** @type {LiveTasks} */
    const value = Object.freeze({
      tasks: Object.freeze(store.list(query)),
      state: store.state,
      pending: store.pending.length,
      role: store.role,
      conflicts: Object.freeze(store.conflicts),
    });
    cache.current = { store, revision: store.revision, key, value };
    return value;
  };
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}
