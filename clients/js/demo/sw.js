// @ts-check
/// <reference lib="webworker" />
/**
 * The demo's service worker, served at `/sw.js` so that its scope covers `/`: it keeps
 * the page and the client modules, so the demo opens with no connection and shows the
 * list stored in IndexedDB. Network first (an online page always gets the current
 * files), the cache when the network fails or hangs. The API is never cached: its
 * requests pass straight through.
 */

const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));
const CACHE = "tasksync-demo-v2";
// Every module the page imports (a test checks this list against clients/js/).
const SHELL = [
  "./",
  "client/tasksync.js",
  "client/answers.js",
  "client/conflicts.js",
  "client/connection.js",
  "client/errors.js",
  "client/live.js",
  "client/live_core.js",
  "client/live_options.js",
  "client/live_sync.js",
  "client/live_writes.js",
  "client/mirror.js",
  "client/outbox.js",
  "client/rest.js",
  "client/retry.js",
  "client/socket.js",
  "client/storage.js",
  "client/tabs.js",
  "client/tokens.js",
  "client/trust.js",
  "client/write_answers.js",
  "client/writes.js",
  "client/demo/demo.js",
  "client/demo/demo.css",
].map((path) => new URL(path, sw.registration.scope).href);
// A network that accepts the connection but never answers (a dead link) must not hold
// the page: after this long the cached copy is served.
const NETWORK_TIMEOUT_MS = 3_000;

sw.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  url.search = "";
  url.hash = "";
  if (!SHELL.includes(url.href)) return;
  event.respondWith(networkFirst(request, url.href));
});

/** @param {Request} request @param {string} key */
async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(key, { cache: "no-cache", credentials: request.credentials }), NETWORK_TIMEOUT_MS);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key);
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
