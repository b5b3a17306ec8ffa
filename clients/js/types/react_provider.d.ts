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
export function TasksyncProvider({ token, user, baseUrl, options, children }: TasksyncProviderProps): import("react").FunctionComponentElement<import("react").ProviderProps<LiveStore | null | undefined>>;
/** @typedef {import("./tokens.js").TokenProvider} TokenProvider */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */
/**
 * The store of the nearest provider: undefined outside any, null while nobody is signed in.
 * @type {import("react").Context<LiveStore | null | undefined>}
 */
export const StoreContext: import("react").Context<LiveStore | null | undefined>;
export type TasksyncProviderProps = {
    /**
     * the signed-in user's token, or a function that gives it (called whenever the client needs one); null or undefined while nobody is signed in (no store)
     */
    token: TokenProvider | null | undefined;
    /**
     * whose tasks these are: a new store when it changes. Default: the `sub` of `token` when it is a string. Pass it when `token` is a function (or a token without `sub`): else the provider cannot tell that another user signed in
     */
    user?: string | undefined;
    /**
     * where the API lives (default: this page's origin; a new store when it changes)
     */
    baseUrl?: string | URL | undefined;
    /**
     * the store's options; its callbacks may change between renders (the latest are called), the rest is read when a store is made
     */
    options?: import("./live_options.js").LiveStoreOptions | undefined;
    children?: import("react").ReactNode;
};
export type TokenProvider = import("./tokens.js").TokenProvider;
export type LiveStoreOptions = import("./live_options.js").LiveStoreOptions;
import { LiveStore } from "./live.js";
