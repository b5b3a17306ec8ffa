// @ts-check
/**
 * Tasksync in the browser: REST helpers and a live task store. No dependencies, no
 * build step: an ES module, typed with JSDoc, served by the server at `/client/`.
 *
 * `TasksyncClient` (rest.js) does the REST calls: `If-Match` from a version,
 * `Idempotency-Key` generated for every create, `X-Client-Id` on every write, problem
 * details raised as `TasksyncError` / `ConflictError` / `AuthError`.
 *
 * `LiveStore` (live.js) mirrors the user's tasks: a snapshot and its `seq`, then events
 * applied strictly in order over a WebSocket (first-message auth: no token in any URL),
 * refetching the snapshot on a gap or a `resync`, reconnecting with backoff and jitter,
 * re-authenticating the socket before the token expires. The tabs of one browser share
 * one socket: the tab holding a Web Lock owns it and relays events over a
 * BroadcastChannel; when that tab closes, the next one takes the lock and resumes with
 * `since` = its own `seq`. Without those APIs each tab opens its own socket.
 *
 * @example
 * import { TasksyncClient, LiveStore } from "/client/tasksync.js";
 *
 * const client = new TasksyncClient({ token: async () => (await authClient.token()).data?.token });
 * const store = new LiveStore(client, {
 *   onChange: () => render(store.list({ status: "pending", sort: "due_date", order: "asc" })),
 *   onState: (state) => (badge.textContent = state),
 *   onConflict: (current) => toast(`“${current.title}” was changed elsewhere`),
 * });
 * await store.start();
 * await store.create({ title: "Buy milk" });
 *
 * @module tasksync
 */

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TokenProvider} TokenProvider */
/** @typedef {import("./mirror.js").Change} Change */
/** @typedef {import("./live.js").ConflictInfo} ConflictInfo */
/** @typedef {import("./live.js").ConnectionState} ConnectionState */
/** @typedef {import("./live.js").Role} Role */
/** @typedef {import("./outbox.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./outbox.js").Outcome} Outcome */

export { LiveStore } from "./live.js";
export { sortTasks } from "./mirror.js";
export { AuthError, ConflictError, TasksyncClient, TasksyncError, newId, tokenClaims } from "./rest.js";
