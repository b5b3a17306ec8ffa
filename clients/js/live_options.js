// @ts-check
/**
 * What a `LiveStore` (live.js) is given and what it tells: `LiveStoreOptions`, its
 * callbacks, and the values they receive (the connection state, the tab's role, why a
 * write was dropped). Types only, nothing runs: the base classes (live_writes.js, live_sync.js),
 * the tab relays (tabs.js) and the React hook (react.js) take them from here rather than
 * from live.js, the module that builds on those base classes.
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

/** A queued write the server refused for good, with why. @typedef {QueuedWrite & {reason: DropReason}} DroppedWrite */

/**
 * @typedef {object} LiveStoreOptions
 * @property {(change: Change) => void} [onChange]
 * @property {(state: ConnectionState, detail: {role: Role | null, code?: number}) => void} [onState]  `code`: how the last socket closed, until live again (1012: the server is restarting)
 * @property {(conflict: Conflict) => void} [onConflict]  a new conflict (once each; listed in `store.conflicts` until settled)
 * @property {(write: DroppedWrite, error: TasksyncError) => void} [onDropped]  a queued write the server refused for good: `404` to an edit (the task is gone; `write.reason` is `missing`) or another `4xx` (`rejected`)
 * @property {(writes: QueuedWrite[]) => void} [onPending]  the queue changed (writes not yet answered, oldest first)
 * @property {(info: {durable: boolean, reason: string}) => void} [onStorage]  storage fell back to memory: nothing survives a reload
 * @property {() => void} [onSignedOut]  another tab signed this user out (the store is closed)
 * @property {(info: {reason: string, seq: number, count: number}) => void} [onResync]
 * @property {(error: Error) => void} [onError]
 * @property {boolean} [shareTabs]  share one socket between the tabs of this browser (default: where supported)
 * @property {number} [startTimeout]  ms `start()` waits for a list to show (stored, or the server's) before it rejects (default 15000; `Infinity`: no bound); the store goes on trying
 */

// A module, so the typedefs above are its exports rather than globals.
export {};
