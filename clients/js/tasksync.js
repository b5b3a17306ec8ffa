// @ts-check
/**
 * Tasksync in the browser: REST helpers and a live task store. No dependencies, no
 * build step: an ES module, typed with JSDoc, served by the server at `/client/` and
 * packaged for npm as `tasksync` (declarations in `types/`; a React provider and hooks in
 * `tasksync/react`, react.js; an offline app shell for a service worker in `tasksync/sw`).
 *
 * `TasksyncClient` (rest.js) does the REST calls: `If-Match` from a version,
 * `Idempotency-Key` generated for every create, `X-Client-Id` on every write, problem
 * details raised as `TasksyncError` / `ConflictError` / `QuotaExceededError` / `AuthError`
 * (errors.js, with `StoreClosedError` for a write through a store that cannot send it; with the server's `Retry-After` as `retryAfter`), the token asked for again
 * before it expires (tokens.js).
 *
 * `LiveStore` (live.js) mirrors the user's tasks and works offline, as docs/sync-model.md
 * says (the Python client follows the same model). Writes show at once and wait in a
 * durable outbox (writes.js, outbox.js) until the server has answered them: sent in
 * order, each with its own `Idempotency-Key` (a retry after a lost answer applies once).
 * An edit is the fields it changes, each tested against the value the user saw (a JSON
 * Patch), so edits of different fields on several devices merge; the same field set
 * differently is a conflict (conflicts.js, answers.js), listed until the user chooses,
 * never overwritten; a delete keeps `If-Match`. The mirror (a snapshot and its `seq`,
 * then events applied strictly in order: mirror.js), the outbox and the conflicts live
 * in IndexedDB per API origin and user (storage.js), so a reload shows the list at once,
 * offline too, and resumes with `since`. Events come over a WebSocket (first-message
 * auth: no token in any URL), reconnecting with backoff and jitter (connection.js,
 * socket.js). The tabs of one browser share one socket, one outbox, the conflicts and
 * one stored mirror (tabs.js): the tab holding a Web Lock owns the socket, relays events
 * over a BroadcastChannel and sends the queue; when that tab closes, the next one takes
 * over.
 *
 * @example
 * import { TasksyncClient, LiveStore } from "/client/tasksync.js";
 *
 * const client = new TasksyncClient({ token: async () => (await authClient.token()).data?.token });
 * const store = new LiveStore(client, {
 *   onChange: () => render(store.list({ status: "pending", sort: "due_date", order: "asc" })),
 *   onState: (state) => (badge.textContent = state),
 *   onConflict: (c) => toast(`${c.field ?? "a deleted task"} was changed on another device too`),
 * });
 * await store.start();
 * await store.create({ title: "Buy milk" }); // shown at once, sent when connected
 * for (const conflict of store.conflicts) await store.useMine(conflict); // or keepTheirs
 *
 * @module tasksync
 */

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TaskCreatedEvent} TaskCreatedEvent */
/** @typedef {import("./rest.js").TaskUpdatedEvent} TaskUpdatedEvent */
/** @typedef {import("./rest.js").TaskDeletedEvent} TaskDeletedEvent */
/** @typedef {import("./mirror.js").TaskStatus} TaskStatus */
/** @typedef {import("./mirror.js").TaskSort} TaskSort */
/** @typedef {import("./mirror.js").SortOrder} SortOrder */
/** @typedef {import("./writes.js").Operation} Operation */
/** @typedef {import("./tokens.js").TokenProvider} TokenProvider */
/** @typedef {import("./mirror.js").Change} Change */
/** @typedef {import("./mirror.js").TaskQuery} TaskQuery */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */
/** @typedef {import("./live_options.js").DropReason} DropReason */
/** @typedef {import("./live_options.js").DroppedWrite} DroppedWrite */
/** @typedef {import("./live_options.js").WriteAnswer} WriteAnswer */
/** @typedef {import("./conflicts.js").Conflict} Conflict */
/** @typedef {import("./conflicts.js").FieldConflict} FieldConflict */
/** @typedef {import("./conflicts.js").DeleteConflict} DeleteConflict */
/** @typedef {import("./conflicts.js").FieldValue} FieldValue */
/** @typedef {import("./live_options.js").ConnectionState} ConnectionState */
/** @typedef {import("./live_options.js").Role} Role */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./writes.js").Field} Field */
/** @typedef {import("./outbox.js").Outcome} Outcome */

export { LiveStore } from "./live.js";
export { sortTasks } from "./mirror.js";
export { AuthError, ConflictError, QuotaExceededError, StoreClosedError, TasksyncError } from "./errors.js";
export { TasksyncClient, newId } from "./rest.js";
export { tokenClaims } from "./tokens.js";
