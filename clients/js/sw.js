// @ts-check
/**
 * The offline app shell (`tasksync/sw`): what an app's own service worker calls so the
 * app opens with no connection at all. The `LiveStore` keeps the tasks and the queued
 * writes in IndexedDB, but without a service worker a reload while offline never
 * reaches the app's code: the browser shows its own error page.
 *
 * `serveAppShell(self, { shell })` precaches the `shell` URLs when the worker installs,
 * answers every navigation in its scope with the cached page (cache first: the app
 * opens at once, online or not), and every other same-origin GET network first, from
 * the cache when the network fails or has not answered within `networkTimeoutMs`
 * (copies of what it fetched are kept for next time). It never touches the API (paths
 * under `api`, and any other origin: a cross-origin API is not seen at all), non-GET
 * requests, or anything outside its scope. The cache's name carries a digest of
 * `shell`, so a new build (new asset names, so a new sw.js) installs into a fresh cache
 * and the old ones are deleted once it activates; the new version shows on the next load.
 *
 * It is dependency-free and only reads `self`, so it also runs in a worker that a
 * bundler builds; Workbox (`workbox-precaching`, `workbox-routing`) is the larger
 * alternative with more strategies.
 *
 * @example
 * // sw.js, served from the app's root so that its scope covers every page
 * import { serveAppShell } from "tasksync/sw";
 * serveAppShell(self, { shell: ["./", "assets/index-4f2a.js", "assets/index-9c1e.css"] });
 *
 * // the app, once: navigator.serviceWorker.register("/sw.js");
 * @module tasksync/sw
 */

// A network that accepts the connection but never answers (a dead link) must not hold
// the app: after this long the cached copy is served.
const NETWORK_TIMEOUT_MS = 3_000;

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
export function serveAppShell(scope, options) {
  const { api = "/api/", networkTimeoutMs = NETWORK_TIMEOUT_MS } = options;
  if (options.shell.length === 0) throw new TypeError("serveAppShell needs at least the app's page in `shell`");
  const base = scope.registration.scope;
  const shell = options.shell.map((path) => new URL(path, base).href);
  const page = new URL(options.page ?? options.shell[0], base).href;
  if (!shell.includes(page)) shell.push(page);
  const prefix = `${options.cacheName ?? "tasksync-shell"}:`;
  const cacheName = prefix + digest(shell.join("\n"));
  const apiPath = new URL(api, base).pathname;

  scope.addEventListener("install", (/** @type {{ waitUntil(promise: Promise<unknown>): void }} */ event) => {
    event.waitUntil(
      scope.caches
        .open(cacheName)
        .then((cache) => cache.addAll(shell))
        .then(() => scope.skipWaiting()),
    );
  });

  scope.addEventListener("activate", (/** @type {{ waitUntil(promise: Promise<unknown>): void }} */ event) => {
    event.waitUntil(
      scope.caches
        .keys()
        .then((names) => Promise.all(names.filter((name) => name.startsWith(prefix) && name !== cacheName).map((name) => scope.caches.delete(name))))
        .then(() => scope.clients.claim()),
    );
  });

  scope.addEventListener("fetch", (/** @type {ShellFetchEvent} */ event) => {
    const request = event.request;
    if (request.method !== "GET") return;
    const url = new URL(request.url);
    if (!url.href.startsWith(base) || url.pathname.startsWith(apiPath)) return;
    if (request.mode === "navigate") {
      event.respondWith(cacheFirst(scope, cacheName, page, request));
    } else {
      url.hash = "";
      event.respondWith(networkFirst(scope, cacheName, request, url.href, networkTimeoutMs));
    }
  });

  return { cacheName, shell: Object.freeze(shell) };
}

/**
 * The cached page; the network only when it is not cached (e.g. evicted).
 * @param {ShellWorkerScope} scope @param {string} cacheName @param {string} page @param {Request} request
 * @returns {Promise<Response>}
 */
async function cacheFirst(scope, cacheName, page, request) {
  const cached = await (await scope.caches.open(cacheName)).match(page);
  return cached ?? scope.fetch(request);
}

/**
 * The network's answer (a copy kept when it is a good same-origin one); the cached copy
 * when the network fails or hangs.
 * @param {ShellWorkerScope} scope @param {string} cacheName @param {Request} request @param {string} key @param {number} timeoutMs
 * @returns {Promise<Response>}
 */
async function networkFirst(scope, cacheName, request, key, timeoutMs) {
  const cache = await scope.caches.open(cacheName);
  try {
    const response = await withTimeout(scope.fetch(request), timeoutMs);
    if (response.ok && response.type === "basic") await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

/** @template T @param {Promise<T>} promise @param {number} ms @returns {Promise<T>} */
function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the network did not answer")), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** A short stable digest of `text` (FNV-1a, 32 bits): names the cache of one build. @param {string} text */
function digest(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, "0");
}
