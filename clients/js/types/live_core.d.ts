/** What `LiveStore` (live.js) forwards to: see there for what each member means. */
export class LiveCore extends LiveSync {
    /** @param {TasksyncClient} client @param {LiveStoreOptions} [options] */
    constructor(client: TasksyncClient, options?: LiveStoreOptions);
    /** Whether the stored list or the first snapshot is in. */
    loaded: boolean;
    /** The current `start()`, once called. @type {Promise<void> | null} */
    starting: Promise<void> | null;
    /** `LiveStore.tasks`. @returns {Map<string, Task>} */
    get tasks(): Map<string, Task>;
    /** `LiveStore.pending`. */
    get pending(): import("./writes.js").QueuedWrite[];
    /** `LiveStore.isPending`. @param {string} id */
    isPending(id: string): boolean;
    /** `LiveStore.flushed`. @returns {Promise<void>} */
    flushed(): Promise<void>;
    /** `LiveStore.seq`. */
    get seq(): number;
    /** `LiveStore.list`. @param {import("./mirror.js").TaskQuery} [query] */
    list(query?: import("./mirror.js").TaskQuery): import("./rest.js").Task[];
    /** `LiveStore.subscribe`. @param {() => void} listener @returns {() => void} */
    subscribe(listener: () => void): () => void;
    /** `LiveStore.start`: at most one start runs; a closed store is reopened first. @returns {Promise<void>} */
    start(): Promise<void>;
    /**
     * Why nothing could be shown within `ms`: where the store was stuck.
     * @param {number} ms @returns {TasksyncError}
     */
    unreachable(ms: number): TasksyncError;
    /**
     * What `start()` does, until the list is shown. Every wait is followed by a look at
     * `signal`: once `close()` aborted it, this start touches nothing more (a new start
     * may be running on the same store).
     * @param {AbortSignal} signal
     */
    open(signal: AbortSignal): Promise<void>;
    /**
     * A token the server has not accepted here before: ask it first, showing nothing (the
     * tabs' channel is not even joined) until it answers. Resolves false if the store
     * closed meanwhile; rejects on a refusal (`start()` then closes the store).
     * @param {string} token @param {AbortSignal} signal
     */
    verify(token: string, signal: AbortSignal): Promise<boolean>;
    /** Whether this tab keeps the state the tabs share (sends the queue, sweeps conflicts). */
    keepsShared(): boolean;
    /** Another tab signed the user out (its relay, or the database it deleted). */
    signedOutElsewhere(): void;
    /** `LiveStore.signOut`. */
    signOut(): Promise<void>;
}
export type Task = import("./rest.js").Task;
export type TaskEvent = import("./rest.js").TaskEvent;
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type Change = import("./mirror.js").Change;
export type LiveStoreOptions = import("./live_options.js").LiveStoreOptions;
import { LiveSync } from "./live_sync.js";
import { TasksyncError } from "./errors.js";
