// @ts-check
/**
 * `LiveStore`: the user's tasks, live, over one WebSocket per browser, usable offline.
 * This module is the store's whole public surface; the machinery (the mirror, the
 * outbox, the socket shared by the tabs, the answers) is a `LiveCore` (live_core.js)
 * held in a private field, so none of it can be reached, changed or autocompleted from
 * an app. The sync model is docs/sync-model.md, the same as the Python client's.
 * @module tasksync/live
 */

import { LiveCore } from "./live_core.js";

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
  /** @type {LiveCore} */
  #core;
  /** What each write method's promise was a write of: for `settled`. @type {WeakMap<Promise<unknown>, Promise<WriteAnswer>>} */
  #answers = new WeakMap();

  /** @param {TasksyncClient} client @param {LiveStoreOptions} [options] */
  constructor(client, options = {}) {
    this.#core = new LiveCore(client, options);
  }

  // ---- reading ----------------------------------------------------------------------

  /**
   * The tasks by id, as they will be once the queued writes are applied (empty while
   * loading, and once the session ended).
   * @example
   * for (const task of store.tasks.values()) console.log(task.title, store.isPending(task.id));
   * @returns {ReadonlyMap<string, Task>}
   */
  get tasks() {
    return this.#core.tasks;
  }

  /**
   * The task as it will be once its queued writes are applied.
   * @param {string} id @returns {Task | undefined}
   */
  get(id) {
    return this.#core.get(id);
  }

  /**
   * The tasks, filtered and ordered as the server's list would, queued writes applied.
   * @example
   * render(store.list({ status: "pending", sort: "due_date", order: "asc" }));
   * @param {TaskQuery} [query] @returns {Task[]}
   */
  list(query) {
    return this.#core.list(query);
  }

  /**
   * The queued writes the server has not answered yet, oldest first (every tab's).
   * @example
   * badge.textContent = store.pending.length ? `${store.pending.length} changes waiting` : "";
   * @returns {QueuedWrite[]}
   */
  get pending() {
    return this.#core.pending;
  }

  /** Whether a queued write to this task is still waiting. @param {string} id @returns {boolean} */
  isPending(id) {
    return this.#core.isPending(id);
  }

  /**
   * The conflicts the user has not settled yet (every tab's); `server` is the server's
   * value as this device knows it now.
   * @example
   * for (const c of store.conflicts) show(c.field, c.seen, c.wanted, c.server);
   * @returns {Conflict[]}
   */
  get conflicts() {
    return this.#core.conflicts;
  }

  /**
   * The writes the server refused for good since `start()` (in any tab), oldest first,
   * until `dismissDropped`: as `onDropped` was told, with `reason` and `error`. Kept in
   * memory only: a reload starts with none.
   * @example
   * for (const write of store.dropped) toast(`Not saved: ${write.error.message}`);
   * @returns {readonly DroppedWrite[]}
   */
  get dropped() {
    return this.#core.dropped;
  }

  /**
   * Where the connection is: `idle` before `start()`, `connecting`, `live`, `offline`
   * (retrying), `resyncing` (reloading the snapshot), `closed`.
   * @returns {ConnectionState}
   */
  get state() {
    return this.#core.state;
  }

  /** Which part this tab plays in sharing the socket (null unless started). @returns {Role | null} */
  get role() {
    return this.#core.role;
  }

  /**
   * Why the list cannot show or stay current: `start()` failed or gave up waiting
   * (`startTimeout`), or the connection ended for good. Null once the list shows.
   * @returns {Error | null}
   */
  get error() {
    return this.#core.error;
  }

  /** True until the stored list or the first snapshot is in (also before `start()`). @returns {boolean} */
  get isLoading() {
    return !this.#core.loaded;
  }

  /**
   * Whether what is stored survives a reload (false: IndexedDB is missing or full, so
   * the store is in memory only, as `onStorage` said). @returns {boolean}
   */
  get durable() {
    return this.#core.durable;
  }

  /** The seq of the last change applied. @returns {number} */
  get seq() {
    return this.#core.seq;
  }

  /** Counts the changes `subscribe`'s listeners were told of: a cached view is stale once it moved. @returns {number} */
  get revision() {
    return this.#core.revision;
  }

  /**
   * Be called after every change: the tasks, the queue, the conflicts, the dropped
   * writes or the connection state. Returns the unsubscribe.
   * @example
   * const unsubscribe = store.subscribe(() => render(store.list(), store.state));
   * @param {() => void} listener @returns {() => void}
   */
  subscribe(listener) {
    return this.#core.subscribe(listener);
  }

  // ---- lifecycle --------------------------------------------------------------------

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
  start() {
    return this.#core.start();
  }

  /** Stop (it can be started again); if this tab held the socket, the next tab takes it over. */
  close() {
    this.#core.close();
  }

  /**
   * Sign out: stop, and delete everything stored for this user in this browser (the
   * mirror and any write still queued). The other tabs of the user close too
   * (`onSignedOut`). Wait for `flushed()` first to keep queued writes.
   * @example
   * if (store.pending.length === 0 || confirm("Discard changes not yet sent?")) await store.signOut();
   * @returns {Promise<void>}
   */
  signOut() {
    return this.#core.signOut();
  }

  /**
   * Resolves once every queued write is answered and the mirror has seen their events
   * (read-your-writes): e.g. before signing out.
   * @example
   * await store.flushed();
   * await store.signOut();
   * @returns {Promise<void>}
   */
  flushed() {
    return this.#core.flushed();
  }

  // ---- writes -----------------------------------------------------------------------

  /**
   * Create a task (its id is chosen here, so it can be edited before it reaches the
   * server). Resolves, once queued, with the task as it is shown. Every write method
   * rejects with a `StoreClosedError`, queuing nothing, if the store is not started,
   * closed or signed out.
   * @example
   * const task = await store.create({ title: "Buy milk", due_date: "2026-12-01" });
   * @param {TaskFields & {title: string}} fields @returns {Promise<Task>}
   */
  create(fields) {
    return this.#written(this.#core.create(fields));
  }

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
  update(id, changes, options) {
    return this.#written(this.#core.update(id, changes, options));
  }

  /**
   * Set every editable field: those omitted return to their defaults (`""`, `false`,
   * `null`). Queued, as any edit, as the fields that change; `seen` as in `update`.
   * @example
   * await store.replace(id, { title: "Buy milk", completed: true });
   * @param {string} id @param {TaskFields & {title: string}} fields @param {{seen?: TaskFields}} [options]
   * @returns {Promise<Task | undefined>}
   */
  replace(id, fields, options) {
    return this.#written(this.#core.replace(id, fields, options));
  }

  /**
   * Set `completed` (never a blind flip: another device completing it too agrees).
   * @example
   * await store.complete(id); // done
   * checkbox.onchange = () => store.complete(id, checkbox.checked);
   * @param {string} id @param {boolean} [completed]  default true
   * @returns {Promise<Task | undefined>}
   */
  complete(id, completed = true) {
    return this.#written(this.#core.complete(id, completed));
  }

  /**
   * Delete, with `If-Match` the version this device has confirmed: a task another device
   * changed meanwhile is not deleted but becomes a conflict. A task that turns out to be
   * gone already counts as deleted; one not shown here is nothing to do.
   * @example
   * await store.delete(id);
   * @param {string} id @returns {Promise<void>}
   */
  delete(id) {
    return this.#written(this.#core.remove(id));
  }

  /**
   * Settle a conflict with the server's value: it goes (from every tab), nothing is sent.
   * @example
   * await store.keepTheirs(conflict);
   * @param {Conflict | string} conflictOrKey  a conflict, or its `key` @returns {Promise<void>}
   */
  keepTheirs(conflictOrKey) {
    return this.#core.keepTheirs(conflictOrKey);
  }

  /**
   * Settle a conflict with this device's value: it goes (from every tab), and `wanted` is
   * queued as a new edit tested against the value shown now (for a delete, a delete of
   * the version shown now).
   * @example
   * await store.useMine(conflict);
   * @param {Conflict | string} conflictOrKey  a conflict, or its `key` @returns {Promise<void>}
   */
  useMine(conflictOrKey) {
    return this.#written(this.#core.useMine(conflictOrKey));
  }

  /**
   * Forget a dropped write once the user has seen it (every one without an argument).
   * @example
   * <button onClick={() => store.dismissDropped(write)}>OK</button>
   * @param {DroppedWrite | string} [writeOrKey]  a dropped write, or its `key`
   */
  dismissDropped(writeOrKey) {
    this.#core.dismissDropped(writeOrKey);
  }

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
  settled(write) {
    return this.#answers.get(write) ?? Promise.reject(new TypeError("not a write method's promise of this store"));
  }

  /**
   * @deprecated The name is `delete` (as in the REST client, the queued write's
   * `operation` and the server's `task.deleted`).
   * @param {string} id @returns {Promise<void>}
   */
  remove(id) {
    return this.delete(id);
  }

  /**
   * @deprecated A flip says nothing of what the user saw: `complete(id, !task.completed)`.
   * @param {string} id @returns {Promise<Task | undefined>}
   */
  toggle(id) {
    return this.#written(this.#core.toggle(id));
  }

  /**
   * The value of a write method; its answer kept for `settled`.
   * @template T @param {Promise<{value: T, write: QueuedWrite | null}>} written @returns {Promise<T>}
   */
  #written(written) {
    const value = written.then((done) => done.value);
    /** @type {Promise<WriteAnswer>} */
    const answer = written.then(({ value, write }) =>
      write ? this.#core.answers.to(write) : { status: "applied", task: /** @type {Task | null} */ (value ?? null) },
    );
    answer.catch(() => {}); // reported by `value`, the promise the caller holds
    this.#answers.set(value, answer);
    return value;
  }
}
