// @ts-check
/**
 * What survives a reload: the mirror (tasks + `seq`), the outbox of queued writes, the
 * open conflicts and the hash of the token the server last accepted (trust.js), in one
 * IndexedDB database per API origin and user. This is the
 * only module that touches IndexedDB. Where IndexedDB is missing, refuses to open, or
 * runs out of quota, the same interface keeps everything in memory (this tab, until it
 * closes) and says so once through `onFallback`: writes are still applied and sent, they
 * are only not kept across a reload. Another tab deleting the database (signing the
 * user out) is told through `onDeleted`.
 *
 * @example
 * const storage = await openStorage("tasksync:https://api.example.com/:alice", {
 *   onFallback: (reason) => banner(`Changes are kept in this tab only: ${reason}`),
 * });
 * const { tasks, seq } = await storage.readMirror();
 * @module tasksync/storage
 */

import { upgradeWrites } from "./writes.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./conflicts.js").Conflict} Conflict */

/**
 * @typedef {object} MirrorDelta
 * @property {Task[]} put
 * @property {string[]} remove
 * @property {number} seq
 * @property {boolean} [replace]  a snapshot: everything not in `put` is gone
 */

/**
 * Changes to the queue and the conflicts, stored in one transaction.
 * @typedef {object} QueueDelta
 * @property {QueuedWrite} [add]  a new write, numbered at the end of the queue
 * @property {QueuedWrite[]} [put]  queued writes changed in place (same `n`)
 * @property {number[]} [remove]  queued writes that leave the queue
 * @property {Conflict[]} [putConflicts]  each replaces any conflict of its key
 * @property {string[]} [removeConflicts]
 */

// Bump with a new step in `upgrade` whenever a store or index changes shape.
const DB_VERSION = 2;
const TASKS = "tasks";
const META = "meta";
const OUTBOX = "outbox";
const CONFLICTS = "conflicts";
// The `meta` key of the SHA-256 of the token the server last accepted for this database.
const ACCEPTED = "accepted";
// A database that another tab is upgrading or deleting answers neither way for a while.
const OPEN_TIMEOUT_MS = 5_000;

/**
 * Each step takes the database from one version to the next; a browser that stored
 * version N runs the steps after N, in order, inside the upgrade transaction.
 * @param {IDBDatabase} db @param {number} from @param {IDBTransaction} tx
 */
function upgrade(db, from, tx) {
  if (from < 1) {
    db.createObjectStore(TASKS, { keyPath: "id" });
    db.createObjectStore(META); // "seq" → number; "accepted" → a token's hash (no new version: a key, not a store)
    db.createObjectStore(OUTBOX, { keyPath: "n", autoIncrement: true }); // n: queue order
  }
  if (from < 2) {
    db.createObjectStore(CONFLICTS, { keyPath: "key" }); // "<task id>/<field>"
    // Version 1 queued edits with If-Match; they become field edits against what the
    // stored mirror shows, so nothing the user queued is lost in the upgrade.
    if (from >= 1) {
      const tasks = tx.objectStore(TASKS).getAll();
      const outbox = tx.objectStore(OUTBOX);
      const queued = outbox.getAll();
      queued.onsuccess = () => {
        const confirmed = new Map(/** @type {Task[]} */ (tasks.result ?? []).map((task) => [task.id, task]));
        outbox.clear();
        for (const write of upgradeWrites(queued.result, confirmed)) outbox.put(write);
      };
    }
  }
}

/**
 * Open the database for `name` (the store's scope: API origin + user), or a memory
 * store if that cannot be done. Never rejects.
 * @param {string} name @param {StorageHooks} [hooks]
 * @returns {Promise<TaskStorage>}
 */
export async function openStorage(name, hooks = {}) {
  const storage = new TaskStorage(name, hooks);
  const idb = globalThis.indexedDB;
  if (!idb) {
    storage.fallBack("this browser has no IndexedDB");
    return storage;
  }
  try {
    storage.db = await openDatabase(idb, name);
    // Another tab deletes the database (sign-out) or a newer page upgrades it: let it.
    // Deleted, the user signed out: this store must take no more writes. Upgraded: keep
    // what this tab holds in memory until it closes or reloads.
    storage.db.onversionchange = (event) => {
      if (event.newVersion === null) storage.deleted();
      else storage.fallBack("another tab upgraded the stored copy");
    };
  } catch (error) {
    storage.fallBack(`IndexedDB could not be opened (${describe(error)})`);
  }
  return storage;
}

/** @param {IDBFactory} idb @param {string} name @returns {Promise<IDBDatabase>} */
function openDatabase(idb, name) {
  return new Promise((resolve, reject) => {
    const request = idb.open(name, DB_VERSION);
    const timer = setTimeout(() => reject(new Error("blocked by another tab")), OPEN_TIMEOUT_MS);
    request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion, /** @type {IDBTransaction} */ (request.transaction));
    request.onsuccess = () => {
      clearTimeout(timer);
      resolve(request.result);
    };
    request.onerror = () => {
      clearTimeout(timer);
      reject(request.error);
    };
  });
}

/** @param {unknown} error */
const describe = (error) => (error instanceof Error || error instanceof DOMException ? error.name + ": " + error.message : String(error));

/** @template T @param {IDBRequest<T>} request @returns {Promise<T>} */
const result = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

/** @param {IDBTransaction} tx @returns {Promise<void>} */
const committed = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
  });

/**
 * @typedef {object} StorageHooks
 * @property {(reason: string) => void} [onFallback]
 * @property {() => void} [onDeleted]  another tab deleted the database: the user signed out
 */

export class TaskStorage {
  /** @param {string} name @param {StorageHooks} hooks */
  constructor(name, hooks) {
    this.name = name;
    this.hooks = hooks;
    /** @type {IDBDatabase | null} */
    this.db = null;
    /** Why storage is in memory only, or null while IndexedDB holds it. @type {string | null} */
    this.fallbackReason = null;
    // The memory copy, used only after a fallback.
    /** @type {Map<string, Task>} */
    this.memTasks = new Map();
    /** @type {number | null} */
    this.memSeq = null;
    /** @type {QueuedWrite[]} */
    this.memOutbox = [];
    this.memNext = 1;
    /** @type {Map<string, Conflict>} */
    this.memConflicts = new Map();
    /** @type {string | null} */
    this.memAccepted = null;
  }

  /**
   * Hand the memory copy what the caller holds, when falling back mid-session (from
   * `onFallback`, before the write that failed is redone in memory).
   * @param {{tasks: Iterable<Task>, seq: number, outbox: QueuedWrite[], conflicts: Conflict[]}} state
   */
  seedMemory({ tasks, seq, outbox, conflicts }) {
    this.memTasks = new Map([...tasks].map((task) => [task.id, task]));
    this.memSeq = seq;
    this.memOutbox = outbox.map((w) => ({ ...w }));
    this.memNext = Math.max(0, ...outbox.map((w) => w.n ?? 0)) + 1;
    this.memConflicts = new Map(conflicts.map((c) => [c.key, { ...c }]));
  }

  /** Whether what is stored survives a reload and is shared with the other tabs. */
  get durable() {
    return this.db !== null;
  }

  /** Another tab deleted the database (signing the user out). */
  deleted() {
    this.db?.close();
    this.db = null;
    this.fallbackReason ??= "the user signed out in another tab";
    this.hooks.onDeleted?.();
  }

  /** Switch to memory, keeping what the caller hands over. @param {string} reason */
  fallBack(reason) {
    if (this.fallbackReason) return;
    this.db?.close();
    this.db = null;
    this.fallbackReason = reason;
    this.hooks.onFallback?.(reason);
  }

  /**
   * Run `work` against IndexedDB; if that fails (quota, a closed database), fall back
   * to memory and run `memory` instead, so the data is not lost.
   * @template T
   * @param {(db: IDBDatabase) => Promise<T>} work @param {() => T} memory
   * @returns {Promise<T>}
   */
  async run(work, memory) {
    if (this.db) {
      try {
        return await work(this.db);
      } catch (error) {
        const quota = error instanceof DOMException && error.name === "QuotaExceededError";
        this.fallBack(quota ? "the browser's storage quota is used up" : `IndexedDB failed (${describe(error)})`);
      }
    }
    return memory();
  }

  /** The stored mirror; `seq` null when nothing was stored yet. @returns {Promise<{tasks: Task[], seq: number | null}>} */
  readMirror() {
    return this.run(
      async (db) => {
        const tx = db.transaction([TASKS, META], "readonly");
        const [tasks, seq] = await Promise.all([result(tx.objectStore(TASKS).getAll()), result(tx.objectStore(META).get("seq"))]);
        return { tasks, seq: typeof seq === "number" ? seq : null };
      },
      () => ({ tasks: [...this.memTasks.values()], seq: this.memSeq }),
    );
  }

  /** Apply a change to the stored mirror, in one transaction. @param {MirrorDelta} delta */
  writeMirror(delta) {
    return this.run(
      async (db) => {
        const tx = db.transaction([TASKS, META], "readwrite");
        const tasks = tx.objectStore(TASKS);
        if (delta.replace) tasks.clear();
        for (const id of delta.remove) tasks.delete(id);
        for (const task of delta.put) tasks.put(task);
        tx.objectStore(META).put(delta.seq, "seq");
        await committed(tx);
      },
      () => {
        if (delta.replace) this.memTasks.clear();
        for (const id of delta.remove) this.memTasks.delete(id);
        for (const task of delta.put) this.memTasks.set(task.id, task);
        this.memSeq = delta.seq;
      },
    );
  }

  /** The queued writes, oldest first. @returns {Promise<QueuedWrite[]>} */
  readOutbox() {
    return this.run(
      (db) => result(db.transaction(OUTBOX, "readonly").objectStore(OUTBOX).getAll()),
      () => this.memOutbox.map((w) => ({ ...w })),
    );
  }

  /**
   * Store changes to the queue and the conflicts in one transaction; resolves, once
   * stored, with the added write numbered (null without one).
   * @param {QueueDelta} delta @returns {Promise<QueuedWrite | null>}
   */
  commit(delta) {
    return this.updateQueue(() => delta);
  }

  /**
   * Read the queue and change it in one transaction: `change` sees the queued writes as
   * stored (oldest first) and says what to store, so no other tab's write slips between
   * the reading and the writing. Resolves with the added write, numbered.
   * @param {(writes: QueuedWrite[]) => QueueDelta} change @returns {Promise<QueuedWrite | null>}
   */
  updateQueue(change) {
    return this.run(
      async (db) => {
        const tx = db.transaction([OUTBOX, CONFLICTS], "readwrite");
        const outbox = tx.objectStore(OUTBOX);
        const conflicts = tx.objectStore(CONFLICTS);
        const delta = change(await result(outbox.getAll()));
        for (const n of delta.remove ?? []) outbox.delete(n);
        for (const write of delta.put ?? []) outbox.put(write);
        for (const key of delta.removeConflicts ?? []) conflicts.delete(key);
        for (const conflict of delta.putConflicts ?? []) conflicts.put(conflict);
        /** @type {QueuedWrite | null} */
        let added = null;
        if (delta.add) {
          const { n: _, ...unnumbered } = delta.add;
          added = { ...unnumbered, n: /** @type {number} */ (await result(outbox.add(unnumbered))) };
        }
        await committed(tx);
        return added;
      },
      () => {
        const delta = change(this.memOutbox.map((w) => ({ ...w })));
        const removed = new Set(delta.remove ?? []);
        const replaced = new Map((delta.put ?? []).map((w) => [w.n, { ...w }]));
        this.memOutbox = this.memOutbox.filter((w) => !removed.has(w.n ?? -1)).map((w) => replaced.get(w.n) ?? w);
        for (const key of delta.removeConflicts ?? []) this.memConflicts.delete(key);
        for (const conflict of delta.putConflicts ?? []) this.memConflicts.set(conflict.key, { ...conflict });
        if (!delta.add) return null;
        const { n: _, ...unnumbered } = delta.add;
        const numbered = { ...unnumbered, n: this.memNext++ };
        this.memOutbox.push(numbered);
        return { ...numbered };
      },
    );
  }

  /** The open conflicts. @returns {Promise<Conflict[]>} */
  readConflicts() {
    return this.run(
      (db) => result(db.transaction(CONFLICTS, "readonly").objectStore(CONFLICTS).getAll()),
      () => [...this.memConflicts.values()].map((c) => ({ ...c })),
    );
  }

  /**
   * Remove the conflicts `settled` says the server's state has settled, judged on what
   * is stored; resolves with their keys.
   * @param {(conflict: Conflict) => boolean} settled @returns {Promise<string[]>}
   */
  removeConflictsWhere(settled) {
    return this.run(
      async (db) => {
        const tx = db.transaction(CONFLICTS, "readwrite");
        const store = tx.objectStore(CONFLICTS);
        /** @type {Conflict[]} */
        const all = await result(store.getAll());
        const keys = all.filter(settled).map((c) => c.key);
        for (const key of keys) store.delete(key);
        await committed(tx);
        return keys;
      },
      () => {
        const keys = [...this.memConflicts.values()].filter(settled).map((c) => c.key);
        for (const key of keys) this.memConflicts.delete(key);
        return keys;
      },
    );
  }

  /**
   * Count one more attempt at sending write `n`, in the same transaction that reads it:
   * resolves with the write as stored, or null if another tab already settled it.
   * @param {number} n @returns {Promise<QueuedWrite | null>}
   */
  claimWrite(n) {
    return this.run(
      async (db) => {
        const tx = db.transaction(OUTBOX, "readwrite");
        const store = tx.objectStore(OUTBOX);
        /** @type {QueuedWrite | undefined} */
        const write = await result(store.get(n));
        if (write) {
          write.attempts += 1;
          store.put(write);
        }
        await committed(tx);
        return write ?? null;
      },
      () => {
        const write = this.memOutbox.find((w) => w.n === n);
        if (!write) return null;
        write.attempts += 1;
        return { ...write };
      },
    );
  }

  /** The hash of the token the server last accepted for this database, if any. @returns {Promise<string | null>} */
  readAccepted() {
    return this.run(
      async (db) => {
        const hash = await result(db.transaction(META, "readonly").objectStore(META).get(ACCEPTED));
        return typeof hash === "string" ? hash : null;
      },
      () => this.memAccepted,
    );
  }

  /** Remember that the server accepted the token with this hash. @param {string} hash */
  writeAccepted(hash) {
    return this.run(
      async (db) => {
        const tx = db.transaction(META, "readwrite");
        tx.objectStore(META).put(hash, ACCEPTED);
        await committed(tx);
      },
      () => {
        this.memAccepted = hash;
      },
    );
  }

  /**
   * The session ended (the server refused the token for good, or the provider has none):
   * forget the accepted token and, unless the outbox or the conflicts hold something the
   * user did, the mirror too. One transaction, not a deleted database: a write another
   * tab queues meanwhile is either seen here (and kept) or lands after the clearing, never
   * lost with the rest. Resolves with what was kept.
   * @returns {Promise<{writes: number, conflicts: number}>}
   */
  endSession() {
    return this.run(
      async (db) => {
        const tx = db.transaction([TASKS, META, OUTBOX, CONFLICTS], "readwrite");
        const counts = [result(tx.objectStore(OUTBOX).count()), result(tx.objectStore(CONFLICTS).count())];
        const [writes, conflicts] = await Promise.all(counts);
        tx.objectStore(META).delete(ACCEPTED);
        if (writes + conflicts === 0) {
          tx.objectStore(TASKS).clear();
          tx.objectStore(META).clear();
        }
        await committed(tx);
        return { writes, conflicts };
      },
      () => {
        const kept = { writes: this.memOutbox.length, conflicts: this.memConflicts.size };
        this.memAccepted = null;
        if (kept.writes + kept.conflicts === 0) {
          this.memTasks.clear();
          this.memSeq = null;
        }
        return kept;
      },
    );
  }

  /** Delete everything stored for this user (signing out). Other tabs' connections close first. */
  async clear() {
    this.memTasks.clear();
    this.memSeq = null;
    this.memOutbox = [];
    this.memConflicts.clear();
    this.memAccepted = null;
    const idb = globalThis.indexedDB;
    this.db?.close();
    this.db = null;
    if (!idb) return;
    await new Promise((resolve) => {
      const request = idb.deleteDatabase(this.name);
      request.onsuccess = request.onerror = request.onblocked = () => resolve(undefined);
    });
  }

  close() {
    this.db?.close();
    this.db = null;
  }
}

/**
 * Keeps the stored mirror up to date with a `TaskMirror`: the tasks each change touched
 * and the new `seq`, in one transaction per burst of changes (a replay of many events
 * is one write, not one per event).
 */
export class MirrorKeeper {
  /** @param {TaskStorage} storage @param {{tasks: Map<string, Task>, seq: number}} mirror */
  constructor(storage, mirror) {
    this.storage = storage;
    this.mirror = mirror;
    /** @type {Set<string>} */
    this.dirty = new Set();
    this.replace = false;
    this.scheduled = false;
    /** Set when the session ends: nothing more is written (what is kept was decided). */
    this.stopped = false;
    /** The last write, so callers can wait for it. @type {Promise<void>} */
    this.saved = Promise.resolve();
  }

  /** Write nothing more: the session ended, and what is kept was decided. */
  stop() {
    this.stopped = true;
  }

  /** A task changed (or, with null, the whole set was reloaded). @param {string | null} id */
  note(id) {
    if (this.stopped) return;
    if (id === null) this.replace = true;
    else this.dirty.add(id);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.saved = this.save();
    });
  }

  save() {
    if (this.stopped) return Promise.resolve();
    const { tasks, seq } = this.mirror;
    const replace = this.replace;
    const ids = replace ? [] : [...this.dirty];
    this.dirty.clear();
    this.replace = false;
    /** @type {MirrorDelta} */
    const delta = { put: [], remove: [], seq, replace };
    if (replace) delta.put = [...tasks.values()];
    for (const id of ids) {
      const task = tasks.get(id);
      if (task) delta.put.push(task);
      else delta.remove.push(id);
    }
    return this.storage.writeMirror(delta);
  }
}
