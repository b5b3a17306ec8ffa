// @ts-check
/**
 * `<TasksyncProvider>` (exported by `tasksync/react`): the one place a React app makes,
 * starts and closes its `LiveStore`, so no component has to get the lifecycle right.
 * The store is made for one user: while the user stays the same (a renewed token, a
 * re-render, Fast Refresh, StrictMode's second effect run) it is the same store, started
 * by an effect and closed by its cleanup (a closed store starts again from what is
 * stored); when the user changes, the next render already reads a new, empty store of
 * the new user and the old one is closed, so nothing of one user is shown to the next.
 * @module tasksync/react_provider
 */

import { createContext, createElement, useEffect, useLayoutEffect, useMemo, useRef } from "react";
import { LiveStore } from "./live.js";
import { TasksyncClient } from "./rest.js";
import { tokenClaims } from "./tokens.js";

/** @typedef {import("./tokens.js").TokenProvider} TokenProvider */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */

/**
 * The store of the nearest provider: undefined outside any, null while nobody is signed in.
 * @type {import("react").Context<LiveStore | null | undefined>}
 */
export const StoreContext = createContext(/** @type {LiveStore | null | undefined} */ (undefined));

/**
 * @typedef {object} TasksyncProviderProps
 * @property {TokenProvider | null | undefined} token  the signed-in user's token, or a function that gives it (called whenever the client needs one); null or undefined while nobody is signed in (no store)
 * @property {string} [user]  whose tasks these are: a new store when it changes. Default: the `sub` of `token` when it is a string. Pass it when `token` is a function (or a token without `sub`): else the provider cannot tell that another user signed in
 * @property {string | URL} [baseUrl]  where the API lives (default: this page's origin; a new store when it changes)
 * @property {LiveStoreOptions} [options]  the store's options; its callbacks may change between renders (the latest are called), the rest is read when a store is made
 * @property {import("react").ReactNode} [children]
 */

/**
 * Makes the signed-in user's `LiveStore`, starts it, closes it, and hands it to the
 * hooks below it (`useLiveTasks()`, `useTask(id)`, `useTaskActions()`,
 * `useTasksyncStatus()`, `useTasksync()`).
 * @example
 * <TasksyncProvider baseUrl="https://api.example.com" token={session?.token}>
 *   <App />
 * </TasksyncProvider>
 * @param {TasksyncProviderProps} props
 */
export function TasksyncProvider({ token, user, baseUrl, options, children }) {
  const signedIn = token !== null && token !== undefined;
  const who = user ?? (typeof token === "string" ? tokenClaims(token)?.sub : undefined) ?? "";
  const api = baseUrl === undefined ? "" : String(baseUrl);
  // What the client and the callbacks read: the latest, without making a new store.
  const latest = useRef({ who, token, options });
  useLayoutEffect(() => {
    latest.current = { who, token, options };
  });
  const store = useMemo(
    () => (token !== null && token !== undefined ? newStore(latest, { who, token }, options ?? {}, api || undefined) : null),
    // `options` is read once per store (its callbacks through `latest`): a new object
    // each render must not make a new store.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [signedIn, who, api],
  );
  useEffect(() => {
    if (!store) return;
    store.start().catch(() => {}); // the hooks' `error` says why
    return () => store.close();
  }, [store]);
  return createElement(StoreContext.Provider, { value: store }, children);
}

/**
 * A store of user `who` whose token and callbacks are read from `latest` when needed.
 * @param {{current: {who: string, token: TokenProvider | null | undefined, options?: LiveStoreOptions}}} latest
 * @param {{who: string, token: TokenProvider}} user  the user, and their token when the store is made
 * @param {LiveStoreOptions} options  as given when the store is made
 * @param {string | undefined} baseUrl
 */
function newStore(latest, { who, token }, options, baseUrl) {
  /** @type {TokenProvider | null | undefined} */
  let own = token;
  const client = new TasksyncClient({
    baseUrl,
    token: () => {
      // Until its cleanup has closed it, the previous user's store keeps that user's token.
      if (latest.current.who === who) own = latest.current.token;
      return typeof own === "function" ? own() : own;
    },
  });
  /** @type {Record<string, unknown>} */
  const live = { ...options };
  for (const [name, value] of Object.entries(options)) {
    if (typeof value !== "function") continue;
    live[name] = (/** @type {unknown[]} */ ...args) => {
      const callback = /** @type {Record<string, unknown> | undefined} */ (latest.current.options)?.[name] ?? value;
      return typeof callback === "function" ? callback(...args) : undefined;
    };
  }
  return new LiveStore(client, /** @type {LiveStoreOptions} */ (live));
}
