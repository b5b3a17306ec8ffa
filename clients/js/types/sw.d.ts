/**
 * The part of a `FetchEvent` this module uses (structural, so the declarations need no
 * `webworker` lib: a `ServiceWorkerGlobalScope`'s events fit it).
 * @typedef {object} ShellFetchEvent
 * @property {Request} request
 * @property {(response: Response | Promise<Response>) => void} respondWith
 * @property {(promise: Promise<unknown>) => void} waitUntil
 */
/**
 * The part of a `ServiceWorkerGlobalScope` this module uses: pass the worker's `self`.
 * @typedef {object} ShellWorkerScope
 * @property {{ scope: string }} registration
 * @property {{ claim(): Promise<void> }} clients
 * @property {CacheStorage} caches
 * @property {() => Promise<void>} skipWaiting
 * @property {typeof fetch} fetch
 * @property {(type: "install" | "activate" | "fetch", listener: (event: any) => void) => void} addEventListener
 */
/**
 * @typedef {object} AppShellOptions
 * @property {readonly string[]} shell  the app's files, relative to the worker's scope or absolute paths: its page first ("./" or "index.html"), then its scripts, styles, icons (a bundler's hashed names: see examples/react-vite)
 * @property {string} [page]  the shell URL every navigation is answered with (default: `shell[0]`; an SPA's one HTML page)
 * @property {string} [api]  the path prefix of the API on this origin, never cached nor answered from the cache (default: "/api/")
 * @property {string} [cacheName]  prefix of this app's caches (default: "tasksync-shell"); caches with other names are left alone
 * @property {number} [networkTimeoutMs]  how long a non-navigation request waits for the network before the cached copy is served (default: 3000)
 */
/**
 * Make the service worker `scope` (its `self`) serve the app shell: precache `shell` on
 * install, navigations cache first, other same-origin GETs network first with the cache
 * as fallback, the API never. Call it once, at the top level of the worker script.
 * @example
 * import { serveAppShell } from "tasksync/sw";
 * serveAppShell(self, { shell: ["./", "app.js", "app.css"], api: "/api/" });
 * @param {ShellWorkerScope} scope  the worker's global scope (`self`)
 * @param {AppShellOptions} options
 * @returns {{ cacheName: string, shell: readonly string[] }} the cache in use and the absolute shell URLs
 */
export function serveAppShell(scope: ShellWorkerScope, options: AppShellOptions): {
    cacheName: string;
    shell: readonly string[];
};
/**
 * The part of a `FetchEvent` this module uses (structural, so the declarations need no
 * `webworker` lib: a `ServiceWorkerGlobalScope`'s events fit it).
 */
export type ShellFetchEvent = {
    request: Request;
    respondWith: (response: Response | Promise<Response>) => void;
    waitUntil: (promise: Promise<unknown>) => void;
};
/**
 * The part of a `ServiceWorkerGlobalScope` this module uses: pass the worker's `self`.
 */
export type ShellWorkerScope = {
    registration: {
        scope: string;
    };
    clients: {
        claim(): Promise<void>;
    };
    caches: CacheStorage;
    skipWaiting: () => Promise<void>;
    fetch: typeof fetch;
    addEventListener: (type: "install" | "activate" | "fetch", listener: (event: any) => void) => void;
};
export type AppShellOptions = {
    /**
     * the app's files, relative to the worker's scope or absolute paths: its page first ("./" or "index.html"), then its scripts, styles, icons (a bundler's hashed names: see examples/react-vite)
     */
    shell: readonly string[];
    /**
     * the shell URL every navigation is answered with (default: `shell[0]`; an SPA's one HTML page)
     */
    page?: string | undefined;
    /**
     * the path prefix of the API on this origin, never cached nor answered from the cache (default: "/api/")
     */
    api?: string | undefined;
    /**
     * prefix of this app's caches (default: "tasksync-shell"); caches with other names are left alone
     */
    cacheName?: string | undefined;
    /**
     * how long a non-navigation request waits for the network before the cached copy is served (default: 3000)
     */
    networkTimeoutMs?: number | undefined;
};
