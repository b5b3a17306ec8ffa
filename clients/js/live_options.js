// @ts-check
/**
 * What a `LiveStore` (live.js) is given and what it tells: `LiveStoreOptions`, its
 * callbacks, and the values they receive (the connection state, the tab's role, why a
 * write was dropped). Types only, nothing runs: the base classes (live_writes.js, live_sync.js),
 * the tab relays (tabs.js) and the React hook (react.js) take them from here rather than
 * from live_core.js, the module that builds on those base classes.
 * @module tasksync/live_options
 */

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./mirror.js").Change} Change */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./conflicts.js").Conflict} Conflict */
/** @typedef {import("./errors.js").TasksyncError} TasksyncError */

/**
 * Where the store's connection is: `idle` before `start()` (and again once a closed
 * store is started anew), `connecting`, `live`, `offline` (retrying), `resyncing`
 * (reloading the snapshot), `closed` after `close()`, a sign-out or an ended session.
 * @typedef {"idle" | "connecting" | "live" | "offline" | "resyncing" | "closed"} ConnectionState
 */

/**
 * Which part this tab plays: it holds the shared socket, it is fed by the tab that
 * does, or it has its own socket (the browser lacks Web Locks or BroadcastChannel).
 * @typedef {"leader" | "follower" | "solo"} Role
 */

/**
 * Why a queued write was dropped: `missing`, an edit of a task deleted elsewhere (and
 * every later write of that task); `rejected`, any other refusal (invalid, over quota, …).
 * @typedef {"missing" | "rejected"} DropReason
 */

/**
 * A queued write the server refused for good, with why and the server's answer (listed
 * in `store.dropped` until dismissed, and told to `onDropped`).
 * @typedef {QueuedWrite & {reason: DropReason, error: TasksyncError}} DroppedWrite
 */

/**
 * What the server did with a write (`store.settled(promise)`, and the actions of
 * `useTaskActions`): `applied` (`task` as the server has it, null for a delete, or as
 * shown when there was nothing to send); `conflict`, some field was set differently on
 * another device (the conflicts it opened, listed in `store.conflicts` until settled;
 * the fields that did not conflict were applied); `dropped`, refused for good (`write`,
 * as in `store.dropped`); `closed`, the store closed before the answer came (the write
 * stays queued, and is sent once a store of this user starts again, unless signed out).
 * @typedef {{status: "applied", task: Task | null}
 *   | {status: "conflict", conflicts: Conflict[]}
 *   | {status: "dropped", write: DroppedWrite, error: TasksyncError}
 *   | {status: "closed"}} WriteAnswer
 */

/**
 * @typedef {object} LiveStoreOptions
 * @property {(change: Change) => void} [onChange]
 * @property {(state: ConnectionState, detail: {role: Role | null, code?: number}) => void} [onState]  `code`: how the last socket closed, until live again (1012: the server is restarting)
 * @property {(conflict: Conflict) => void} [onConflict]  a new conflict (once each; listed in `store.conflicts` until settled)
 * @property {(write: DroppedWrite, error: TasksyncError) => void} [onDropped]  a queued write the server refused for good: `404` to an edit (the task is gone; `write.reason` is `missing`) or another `4xx` (`rejected`)
 * @property {(pending: QueuedWrite[]) => void} [onPending]  the queue changed: the writes not answered yet, oldest first (`store.pending`)
 * @property {(info: {durable: boolean, reason: string}) => void} [onStorage]  storage fell back to memory: nothing survives a reload
 * @property {() => void} [onSignedOut]  another tab signed this user out (the store is closed)
 * @property {(info: {reason: string, seq: number, count: number}) => void} [onResync]
 * @property {(error: Error) => void} [onError]
 * @property {boolean} [shareTabs]  share one socket between the tabs of this browser (default: where supported)
 * @property {number} [startTimeout]  ms `start()` waits for a list to show (stored, or the server's) before it rejects (default 15000; `Infinity`: no bound); the store goes on trying
 */

// A module, so the typedefs above are its exports rather than globals.
export {};
