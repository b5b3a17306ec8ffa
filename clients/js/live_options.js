// @ts-check
/**
 * What a `LiveStore` (live.js) is given and what it tells: `LiveStoreOptions`, its
 * callbacks, and the values they receive (the connection state, the tab's role, a
 * conflict). Types only, nothing runs: the base classes (live_writes.js, live_sync.js),
 * the tab relays (tabs.js) and the React hook (react.js) take them from here rather than
 * from live.js, the module that builds on those base classes.
 * @module tasksync/live_options
 */

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./mirror.js").Change} Change */
/** @typedef {import("./outbox.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./errors.js").ConflictError} ConflictError */
/** @typedef {import("./errors.js").TasksyncError} TasksyncError */

/** @typedef {"connecting" | "live" | "offline" | "resyncing" | "closed"} ConnectionState */

/**
 * Which part this tab plays: it holds the shared socket, it is fed by the tab that
 * does, or it has its own socket (the browser lacks Web Locks or BroadcastChannel).
 * @typedef {"leader" | "follower" | "solo"} Role
 */

/**
 * @typedef {object} ConflictInfo
 * @property {import("./outbox.js").Operation} operation
 * @property {string} id
 * @property {TaskFields | null} attempted  the fields that were not written
 * @property {ConflictError} error
 * @property {QueuedWrite} write  the queued write the server refused
 */

/**
 * @typedef {object} LiveStoreOptions
 * @property {(change: Change) => void} [onChange]
 * @property {(state: ConnectionState, detail: {role: Role | null, code?: number}) => void} [onState]  `code`: how the last socket closed, until live again (1012: the server is restarting)
 * @property {(current: Task, info: ConflictInfo) => void} [onConflict]  a `412`: the write was refused; `current` is the task now (and shown)
 * @property {(write: QueuedWrite, error: TasksyncError) => void} [onDropped]  a queued write the server refused for good: `404` (the task is gone) or another `4xx`
 * @property {(writes: QueuedWrite[]) => void} [onPending]  the queue changed (writes not yet answered, oldest first)
 * @property {(info: {durable: boolean, reason: string}) => void} [onStorage]  storage fell back to memory: nothing survives a reload
 * @property {() => void} [onSignedOut]  another tab signed this user out (the store is closed)
 * @property {(info: {reason: string, seq: number, count: number}) => void} [onResync]
 * @property {(error: Error) => void} [onError]
 * @property {boolean} [shareTabs]  share one socket between the tabs of this browser (default: where supported)
 */

// A module, so the typedefs above are its exports rather than globals.
export {};
