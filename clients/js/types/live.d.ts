/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./mirror.js").TaskQuery} TaskQuery */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./conflicts.js").Conflict} Conflict */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */
/** @typedef {import("./live_options.js").ConnectionState} ConnectionState */
/** @typedef {import("./live_options.js").Role} Role */
/** @typedef {import("./live_options.js").DroppedWrite} DroppedWrite */
/** @typedef {import("./live_options.js").WriteAnswer} WriteAnswer */
/**
 * The user's tasks, live. `start()` shows the stored list (or loads the snapshot) and
 * keeps it current. Writes through the store show at once, are queued durably and sent
 * in order when the server is reachable; each write method resolves once the write is
 * queued, and `settled(promise)` once the server has applied or refused it. An edit
 * carries only the fields it changes, each tested against the value the user saw, so
 * edits of different fields on several devices all apply; two devices setting one field
 * differently make a conflict (`conflicts`, `onConflict`), settled by the user
 * (`keepTheirs`, `useMine`), never a silent overwrite.
 *
 * In React, `<TasksyncProvider>` (`tasksync/react`) makes, starts and closes the store.
 *
 * @example
 * const store = new LiveStore(client, {
 *   onConflict: (c) => toast(`${c.field ?? "the task"} was changed on another device`),
 * });
 * store.subscribe(() => render(store.list({ status: "pending" }), store.state));
 * await store.start();
 * const answer = await store.settled(store.update(id, { title: "Buy oat milk" }));
 */
export class LiveStore {
    /** @param {TasksyncClient} client @param {LiveStoreOptions} [options] */
    constructor(client: TasksyncClient, options?: LiveStoreOptions);
    /**
     * The tasks by id, as they will be once the queued writes are applied (empty while
     * loading, and once the session ended).
     * @example
     * for (const task of store.tasks.values()) console.log(task.title, store.isPending(task.id));
     * @returns {ReadonlyMap<string, Task>}
     */
    get tasks(): ReadonlyMap<string, Task>;
    /**
     * The task as it will be once its queued writes are applied.
     * @param {string} id @returns {Task | undefined}
     */
    get(id: string): Task | undefined;
    /**
     * The tasks, filtered and ordered as the server's list would, queued writes applied.
     * @example
     * render(store.list({ status: "pending", sort: "due_date", order: "asc" }));
     * @param {TaskQuery} [query] @returns {Task[]}
     */
    list(query?: TaskQuery): Task[];
    /**
     * The queued writes the server has not answered yet, oldest first (every tab's).
     * @example
     * badge.textContent = store.pending.length ? `${store.pending.length} changes waiting` : "";
     * @returns {QueuedWrite[]}
     */
    get pending(): QueuedWrite[];
    /** Whether a queued write to this task is still waiting. @param {string} id @returns {boolean} */
    isPending(id: string): boolean;
    /**
     * The conflicts the user has not settled yet (every tab's); `server` is the server's
     * value as this device knows it now.
     * @example
     * for (const c of store.conflicts) show(c.field, c.seen, c.wanted, c.server);
     * @returns {Conflict[]}
     */
    get conflicts(): Conflict[];
    /**
     * The writes the server refused for good since `start()` (in any tab), oldest first,
     * until `dismissDropped`: as `onDropped` was told, with `reason` and `error`. Kept in
     * memory only: a reload starts with none.
     * @example
     * for (const write of store.dropped) toast(`Not saved: ${write.error.message}`);
     * @returns {readonly DroppedWrite[]}
     */
    get dropped(): readonly DroppedWrite[];
    /**
     * Where the connection is: `idle` before `start()`, `connecting`, `live`, `offline`
     * (retrying), `resyncing` (reloading the snapshot), `closed`.
     * @returns {ConnectionState}
     */
    get state(): ConnectionState;
    /** Which part this tab plays in sharing the socket (null unless started). @returns {Role | null} */
    get role(): Role | null;
    /**
     * Why the list cannot show or stay current: `start()` failed or gave up waiting
     * (`startTimeout`), or the connection ended for good. Null once the list shows.
     * @returns {Error | null}
     */
    get error(): Error | null;
    /** True until the stored list or the first snapshot is in (also before `start()`). @returns {boolean} */
    get isLoading(): boolean;
    /**
     * Whether what is stored survives a reload (false: IndexedDB is missing or full, so
     * the store is in memory only, as `onStorage` said). @returns {boolean}
     */
    get durable(): boolean;
    /** The seq of the last change applied. @returns {number} */
    get seq(): number;
    /** Counts the changes `subscribe`'s listeners were told of: a cached view is stale once it moved. @returns {number} */
    get revision(): number;
    /**
     * Be called after every change: the tasks, the queue, the conflicts, the dropped
     * writes or the connection state. Returns the unsubscribe.
     * @example
     * const unsubscribe = store.subscribe(() => render(store.list(), store.state));
     * @param {() => void} listener @returns {() => void}
     */
    subscribe(listener: () => void): () => void;
    /**
     * Show the stored list (or, the first time, load the snapshot), then go live in the
     * background. Resolves once the tasks are there. The stored list is shown at once only
     * for the token the server last accepted in this browser; for any other, once the
     * server has accepted it (meanwhile `state` is `connecting`, or `offline`).
     *
     * Rejects, and tells `onError`, when the list cannot be shown: at once on a fatal error
     * (no token, or one the server refuses: the store closes), or when nothing could be
     * shown within `startTimeout` (15 s): the server cannot be reached, or refuses this
     * page's origin (`CORS_ORIGINS`). After a timeout the store goes on trying and shows
     * the list once it can; `error` says why until then.
     *
     * Called again while starting or started, it returns the same promise. A closed store
     * (not signed out) can be started again, from what is stored: an effect that starts it
     * and a cleanup that closes it work under React's StrictMode, which runs them twice.
     * @example
     * await store.start();
     * render(store.list());
     * @returns {Promise<void>}
     */
    start(): Promise<void>;
    /** Stop (it can be started again); if this tab held the socket, the next tab takes it over. */
    close(): void;
    /**
     * Sign out: stop, and delete everything stored for this user in this browser (the
     * mirror and any write still queued). The other tabs of the user close too
     * (`onSignedOut`). Wait for `flushed()` first to keep queued writes.
     * @example
     * if (store.pending.length === 0 || confirm("Discard changes not yet sent?")) await store.signOut();
     * @returns {Promise<void>}
     */
    signOut(): Promise<void>;
    /**
     * Resolves once every queued write is answered and the mirror has seen their events
     * (read-your-writes): e.g. before signing out.
     * @example
     * await store.flushed();
     * await store.signOut();
     * @returns {Promise<void>}
     */
    flushed(): Promise<void>;
    /**
     * Create a task (its id is chosen here, so it can be edited before it reaches the
     * server). Resolves, once queued, with the task as it is shown. Every write method
     * rejects with a `StoreClosedError`, queuing nothing, if the store is not started,
     * closed or signed out.
     * @example
     * const task = await store.create({ title: "Buy milk", due_date: "2026-12-01" });
     * @param {TaskFields & {title: string}} fields @returns {Promise<Task>}
     */
    create(fields: TaskFields & {
        title: string;
    }): Promise<Task>;
    /**
     * Change some fields: only those that differ from what is shown are queued, each
     * tested against the value shown, so another device's change of another field merges.
     * An edit made in a form opened earlier passes `seen`, the values the form showed
     * (only for fields in `changes`; any other key throws a `TypeError`): a change made
     * elsewhere meanwhile then becomes a conflict instead of being overwritten. Resolves,
     * once queued, with the task as shown.
     * @example
     * await store.update(id, { title: "Buy oat milk" });
     * await store.update(id, { title: input.value }, { seen: { title: titleWhenOpened } });
     * @param {string} id @param {TaskFields} changes @param {{seen?: TaskFields}} [options]
     * @returns {Promise<Task | undefined>}
     */
    update(id: string, changes: TaskFields, options?: {
        seen?: TaskFields;
    }): Promise<Task | undefined>;
    /**
     * Set every editable field: those omitted return to their defaults (`""`, `false`,
     * `null`). Queued, as any edit, as the fields that change; `seen` as in `update`.
     * @example
     * await store.replace(id, { title: "Buy milk", completed: true });
     * @param {string} id @param {TaskFields & {title: string}} fields @param {{seen?: TaskFields}} [options]
     * @returns {Promise<Task | undefined>}
     */
    replace(id: string, fields: TaskFields & {
        title: string;
    }, options?: {
        seen?: TaskFields;
    }): Promise<Task | undefined>;
    /**
     * Set `completed` (never a blind flip: another device completing it too agrees).
     * @example
     * await store.complete(id); // done
     * checkbox.onchange = () => store.complete(id, checkbox.checked);
     * @param {string} id @param {boolean} [completed]  default true
     * @returns {Promise<Task | undefined>}
     */
    complete(id: string, completed?: boolean): Promise<Task | undefined>;
    /**
     * Delete, with `If-Match` the version this device has confirmed: a task another device
     * changed meanwhile is not deleted but becomes a conflict. A task that turns out to be
     * gone already counts as deleted; one not shown here is nothing to do.
     * @example
     * await store.delete(id);
     * @param {string} id @returns {Promise<void>}
     */
    delete(id: string): Promise<void>;
    /**
     * Settle a conflict with the server's value: it goes (from every tab), nothing is sent.
     * @example
     * await store.keepTheirs(conflict);
     * @param {Conflict | string} conflictOrKey  a conflict, or its `key` @returns {Promise<void>}
     */
    keepTheirs(conflictOrKey: Conflict | string): Promise<void>;
    /**
     * Settle a conflict with this device's value: it goes (from every tab), and `wanted` is
     * queued as a new edit tested against the value shown now (for a delete, a delete of
     * the version shown now).
     * @example
     * await store.useMine(conflict);
     * @param {Conflict | string} conflictOrKey  a conflict, or its `key` @returns {Promise<void>}
     */
    useMine(conflictOrKey: Conflict | string): Promise<void>;
    /**
     * Forget a dropped write once the user has seen it (every one without an argument).
     * @example
     * <button onClick={() => store.dismissDropped(write)}>OK</button>
     * @param {DroppedWrite | string} [writeOrKey]  a dropped write, or its `key`
     */
    dismissDropped(writeOrKey?: DroppedWrite | string): void;
    /**
     * What the server did with the write a write method queued, given that method's
     * promise: resolves once it is applied, conflicts or is refused (`closed` if this store
     * closes first; offline, it waits until the server is reached). Rejects as the write
     * method did when nothing could be queued.
     * @example
     * const answer = await store.settled(store.create({ title }));
     * if (answer.status === "dropped") alert(answer.error.message);
     * @param {Promise<unknown>} write  what `create`, `update`, `replace`, `complete`, `delete` or `useMine` returned
     * @returns {Promise<WriteAnswer>}
     */
    settled(write: Promise<unknown>): Promise<WriteAnswer>;
    /**
     * @deprecated The name is `delete` (as in the REST client, the queued write's
     * `operation` and the server's `task.deleted`).
     * @param {string} id @returns {Promise<void>}
     */
    remove(id: string): Promise<void>;
    /**
     * @deprecated A flip says nothing of what the user saw: `complete(id, !task.completed)`.
     * @param {string} id @returns {Promise<Task | undefined>}
     */
    toggle(id: string): Promise<Task | undefined>;
    #private;
}
export type Task = import("./rest.js").Task;
export type TaskFields = import("./rest.js").TaskFields;
export type TasksyncClient = import("./rest.js").TasksyncClient;
export type TaskQuery = import("./mirror.js").TaskQuery;
export type QueuedWrite = import("./writes.js").QueuedWrite;
export type Conflict = import("./conflicts.js").Conflict;
export type LiveStoreOptions = import("./live_options.js").LiveStoreOptions;
export type ConnectionState = import("./live_options.js").ConnectionState;
export type Role = import("./live_options.js").Role;
export type DroppedWrite = import("./live_options.js").DroppedWrite;
export type WriteAnswer = import("./live_options.js").WriteAnswer;
