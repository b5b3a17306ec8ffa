export type Task = import("./rest.js").Task;
export type TaskFields = import("./rest.js").TaskFields;
export type Change = import("./mirror.js").Change;
export type QueuedWrite = import("./outbox.js").QueuedWrite;
export type ConflictError = import("./errors.js").ConflictError;
export type TasksyncError = import("./errors.js").TasksyncError;
export type ConnectionState = "connecting" | "live" | "offline" | "resyncing" | "closed";
/**
 * Which part this tab plays: it holds the shared socket, it is fed by the tab that
 * does, or it has its own socket (the browser lacks Web Locks or BroadcastChannel).
 */
export type Role = "leader" | "follower" | "solo";
export type ConflictInfo = {
    operation: import("./outbox.js").Operation;
    id: string;
    /**
     * the fields that were not written
     */
    attempted: TaskFields | null;
    error: ConflictError;
    /**
     * the queued write the server refused
     */
    write: QueuedWrite;
};
export type LiveStoreOptions = {
    onChange?: ((change: Change) => void) | undefined;
    /**
     * `code`: how the last socket closed, until live again (1012: the server is restarting)
     */
    onState?: ((state: ConnectionState, detail: {
        role: Role | null;
        code?: number;
    }) => void) | undefined;
    /**
     * a `412`: the write was refused; `current` is the task now (and shown)
     */
    onConflict?: ((current: Task, info: ConflictInfo) => void) | undefined;
    /**
     * a queued write the server refused for good: `404` (the task is gone) or another `4xx`
     */
    onDropped?: ((write: QueuedWrite, error: TasksyncError) => void) | undefined;
    /**
     * the queue changed (writes not yet answered, oldest first)
     */
    onPending?: ((writes: QueuedWrite[]) => void) | undefined;
    /**
     * storage fell back to memory: nothing survives a reload
     */
    onStorage?: ((info: {
        durable: boolean;
        reason: string;
    }) => void) | undefined;
    /**
     * another tab signed this user out (the store is closed)
     */
    onSignedOut?: (() => void) | undefined;
    onResync?: ((info: {
        reason: string;
        seq: number;
        count: number;
    }) => void) | undefined;
    onError?: ((error: Error) => void) | undefined;
    /**
     * share one socket between the tabs of this browser (default: where supported)
     */
    shareTabs?: boolean | undefined;
};
