/**
 * The user's tasks, live. `start()` shows the stored list (or loads the snapshot) and
 * keeps it current. Writes through the store show at once, are queued durably and sent
 * in order when the server is reachable. An edit carries only the fields it changes,
 * each tested against the value the user saw, so edits of different fields on several
 * devices all apply; two devices setting one field differently make a conflict
 * (`onConflict`, `conflicts`), settled by the user (`keepTheirs`, `useMine`), never a
 * silent overwrite.
 *
 * @example
 * const store = new LiveStore(client, {
 *   onChange: () => render(store.list({ status: "pending" }), store.conflicts),
 *   onState: (state, { role }) => showBadge(state, role),
 *   onConflict: (c) => toast(`${c.field ?? "the task"} was changed on another device`),
 * });
 * await store.start();
 * await store.update(id, { title: "Buy oat milk" });
 */
export class LiveStore extends LiveSync {
    /** @param {TasksyncClient} client @param {LiveStoreOptions} [options] */
    constructor(client: TasksyncClient, options?: LiveStoreOptions);
    /** Whether the stored list or the first snapshot is in. */
    loaded: boolean;
    /** The current `start()`, once called. @type {Promise<void> | null} */
    starting: Promise<void> | null;
    /**
     * The tasks by id, as they will be once the queued writes are applied.
     * @example
     * for (const task of store.tasks.values()) console.log(task.title, store.isPending(task.id));
     */
    get tasks(): Map<any, any>;
    /**
     * The queued writes that the server has not answered yet, oldest first (every tab's).
     * @example
     * badge.textContent = store.pending.length ? `${store.pending.length} changes waiting` : "";
     */
    get pending(): import("./writes.js").QueuedWrite[];
    /** Whether a queued write to this task is still waiting. @param {string} id */
    isPending(id: string): boolean;
    /**
     * Resolves once every queued write is answered and the mirror has seen their events
     * (read-your-writes): e.g. before signing out.
     * @example
     * await store.flushed();
     * await store.signOut();
     * @returns {Promise<void>}
     */
    flushed(): Promise<void>;
    /** The seq of the last change applied. */
    get seq(): number;
    /** The task as it will be once its queued writes are applied. @param {string} id */
    get(id: string): any;
    /**
     * The tasks, filtered and ordered as the server's list would, queued writes applied.
     * @example
     * render(store.list({ status: "pending", sort: "due_date", order: "asc" }));
     * @param {import("./mirror.js").TaskQuery} [query]
     */
    list(query?: import("./mirror.js").TaskQuery): import("./rest.js").Task[];
    /**
     * Be called after every change: the tasks, the queue or the connection state (for a
     * UI library's binding, as `useLiveTasks` in `tasksync/react`). Returns the unsubscribe.
     * `revision` counts the changes, so a cached view knows when it is stale.
     * @example
     * const unsubscribe = store.subscribe(() => render(store.list(), store.state));
     * @param {() => void} listener @returns {() => void}
     */
    subscribe(listener: () => void): () => void;
    /**
     * Show the stored list (or, the first time, load the snapshot), then go live in the
     * background. Resolves once the tasks are there. The stored list is shown at once only
     * for the token the server last accepted in this browser; for any other, once the
     * server has accepted it (meanwhile `state` is `connecting`, or `offline` while the
     * server cannot be reached, and nothing is shown).
     *
     * Rejects, and tells `onError`, when the list cannot be shown: at once on a fatal error
     * (no token, or one the server refuses: the store closes), or when nothing could be
     * shown within `startTimeout` (15 s): the server cannot be reached, or refuses this
     * page's origin (`CORS_ORIGINS`). After a timeout the store goes on trying and shows
     * the list once it can; `store.error` says why until then.
     *
     * Called again while starting or started, it returns the same promise. A closed store
     * (not signed out) can be started again, from what is stored: so an effect that starts
     * it and a cleanup that closes it work under React's StrictMode, which runs them twice.
     * @example
     * await store.start();
     * render(store.list());
     * @example
     * useEffect(() => {
     *   store.start().catch(() => {}); // the hook's `error` shows why
     *   return () => store.close();
     * }, [store]);
     * @returns {Promise<void>}
     */
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
    /**
     * Sign out: stop, and delete everything stored for this user in this browser (the
     * mirror and any write still queued). The other tabs of the user close too
     * (`onSignedOut`). Wait for `flushed()` first to keep queued writes.
     * @example
     * if (store.pending.length === 0 || confirm("Discard changes not yet sent?")) await store.signOut();
     */
    signOut(): Promise<void>;
}
export type TaskEvent = import("./rest.js").TaskEvent;
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type Change = import("./mirror.js").Change;
export type LiveStoreOptions = import("./live_options.js").LiveStoreOptions;
import { LiveSync } from "./live_sync.js";
import { TasksyncError } from "./errors.js";
