export type Task = import("./rest.js").Task;
export type TaskFields = import("./rest.js").TaskFields;
export type Change = import("./mirror.js").Change;
export type QueuedWrite = import("./writes.js").QueuedWrite;
export type Conflict = import("./conflicts.js").Conflict;
export type TasksyncError = import("./errors.js").TasksyncError;
/**
 * Where the store's connection is: `idle` before `start()` (and again once a closed
 * store is started anew), `connecting`, `live`, `offline` (retrying), `resyncing`
 * (reloading the snapshot), `closed` after `close()`, a sign-out or an ended session.
 */
export type ConnectionState = "idle" | "connecting" | "live" | "offline" | "resyncing" | "closed";
/**
 * Which part this tab plays: it holds the shared socket, it is fed by the tab that
 * does, or it has its own socket (the browser lacks Web Locks or BroadcastChannel).
 */
export type Role = "leader" | "follower" | "solo";
/**
 * Why a queued write was dropped: `missing`, an edit of a task deleted elsewhere (and
 * every later write of that task); `rejected`, any other refusal (invalid, over quota, …).
 */
export type DropReason = "missing" | "rejected";
/**
 * A queued write the server refused for good, with why and the server's answer (listed
 * in `store.dropped` until dismissed, and told to `onDropped`).
 */
export type DroppedWrite = QueuedWrite & {
    reason: DropReason;
    error: TasksyncError;
};
/**
 * What the server did with a write (`store.settled(promise)`, and the actions of
 * `useTaskActions`): `applied` (`task` as the server has it, null for a delete, or as
 * shown when there was nothing to send); `conflict`, some field was set differently on
 * another device (the conflicts it opened, listed in `store.conflicts` until settled;
 * the fields that did not conflict were applied); `dropped`, refused for good (`write`,
 * as in `store.dropped`); `closed`, the store closed before the answer came (the write
 * stays queued, and is sent once a store of this user starts again, unless signed out).
 */
export type WriteAnswer = {
    status: "applied";
    task: Task | null;
} | {
    status: "conflict";
    conflicts: Conflict[];
} | {
    status: "dropped";
    write: DroppedWrite;
    error: TasksyncError;
} | {
    status: "closed";
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
     * a new conflict (once each; listed in `store.conflicts` until settled)
     */
    onConflict?: ((conflict: Conflict) => void) | undefined;
    /**
     * a queued write the server refused for good: `404` to an edit (the task is gone; `write.reason` is `missing`) or another `4xx` (`rejected`)
     */
    onDropped?: ((write: DroppedWrite, error: TasksyncError) => void) | undefined;
    /**
     * the queue changed: the writes not answered yet, oldest first (`store.pending`)
     */
    onPending?: ((pending: QueuedWrite[]) => void) | undefined;
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
    /**
     * ms `start()` waits for a list to show (stored, or the server's) before it rejects (default 15000; `Infinity`: no bound); the store goes on trying
     */
    startTimeout?: number | undefined;
};
