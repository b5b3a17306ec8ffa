// @ts-check
/**
 * What survives a reload: the mirror (tasks + `seq`) and the outbox of queued writes,
 * in one IndexedDB database per API origin and user. This is the only module that
 * touches IndexedDB. Where IndexedDB is missing, refuses to open, or runs out of quota,
 * the same interface keeps everything in memory (this tab, until it closes) and says so
 * once through `onFallback`: writes are still applied and sent, they are only not kept
 * across a reload.
 *
 * @example
 * const storage = await openStorage("tasksync:https://api.example.com/:alice", {
 *   onFallback: (reason) => banner(`Changes are kept in this tab only: ${reason}`),
 * });
 * const { tasks, seq } = await storage.readMirror();
 * @module tasksync/storage
 */

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./outbox.js").QueuedWrite} QueuedWrite */

/**
 * @typedef {object} MirrorDelta
 * @property {Task[]} put
 * @property {string[]} remove
 * @property {number} seq
 * @property {boolean} [replace]  a snapshot: everything not in `put` is gone
 */

// Bump with a new step in `upgrade` whenever a store or index changes shape.
const DB_VERSION = 1;
const TASKS = "tasks";
const META = "meta";
const OUTBOX = "outbox";
// A database that another tab is upgrading or deleting answers neither way for a while.
const OPEN_TIMEOUT_MS = 5_000;

/**
 * Each step takes the database from one version to the next; a browser that stored
 * version N runs the steps after N, in order, inside the upgrade transaction.
 * @param {IDBDatabase} db @param {number} from
 */
function upgrade(db, from) {
  if (from < 1) {
    db.createObjectStore(TASKS, { keyPath: "id" });
    db.createObjectStore(META); // "seq" → number
    db.createObjectStore(OUTBOX, { keyPath: "n", autoIncrement: true }); // n: queue order
  }
}

/**
 * Open the database for `name` (the store's scope: API origin + user), or a memory
 * store if that cannot be done. Never rejects.
 * @param {string} name @param {{onFallback?: (reason: string) => void}} [hooks]
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
    // Another tab deletes the database (sign-out) or a newer page upgrades it: let it,
    // and keep what this tab holds in memory until it closes or reloads.
    storage.db.onversionchange = () => storage.fallBack("another tab deleted or upgraded the stored copy");
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
    request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
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

export class TaskStorage {
  /** @param {string} name @param {{onFallback?: (reason: string) => void}} hooks */
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
  }

  /**
   * Hand the memory copy what the caller holds, when falling back mid-session (from
   * `onFallback`, before the write that failed is redone in memory).
   * @param {{tasks: Iterable<Task>, seq: number, outbox: QueuedWrite[]}} state
   */
  seedMemory({ tasks, seq, outbox }) {
    this.memTasks = new Map([...tasks].map((task) => [task.id, task]));
    this.memSeq = seq;
    this.memOutbox = outbox.map((w) => ({ ...w }));
    this.memNext = Math.max(0, ...outbox.map((w) => w.n ?? 0)) + 1;
  }

  /** Whether what is stored survives a reload and is shared with the other tabs. */
  get durable() {
    return this.db !== null;
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

  /** Append a write; resolves with it, numbered, once it is stored. @param {QueuedWrite} write @returns {Promise<QueuedWrite>} */
  addWrite(write) {
    const { n: _, ...unnumbered } = write;
    return this.run(
      async (db) => {
        const tx = db.transaction(OUTBOX, "readwrite");
        const n = /** @type {number} */ (await result(tx.objectStore(OUTBOX).add(unnumbered)));
        await committed(tx);
        return { ...unnumbered, n };
      },
      () => {
        const numbered = { ...unnumbered, n: this.memNext++ };
        this.memOutbox.push(numbered);
        return { ...numbered };
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

  /** @param {number} n */
  removeWrite(n) {
    return this.run(
      async (db) => {
        const tx = db.transaction(OUTBOX, "readwrite");
        tx.objectStore(OUTBOX).delete(n);
        await committed(tx);
      },
      () => {
        this.memOutbox = this.memOutbox.filter((w) => w.n !== n);
      },
    );
  }

  /** Delete everything stored for this user (signing out). Other tabs' connections close first. */
  async clear() {
    this.memTasks.clear();
    this.memSeq = null;
    this.memOutbox = [];
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
    /** The last write, so callers can wait for it. @type {Promise<void>} */
    this.saved = Promise.resolve();
  }

  /** A task changed (or, with null, the whole set was reloaded). @param {string | null} id */
  note(id) {
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
