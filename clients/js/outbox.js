// @ts-check
/**
 * The outbox: every write made through `LiveStore`, kept as data until the server has
 * answered it. A queued write names its method, path, body, the `If-Match` version it
 * was based on and its `Idempotency-Key`, so the same record is shown as pending, sent,
 * retried after a lost answer (the key makes the server replay instead of writing
 * twice) and explained in a conflict. Writes are sent strictly in order, one at a time,
 * by one tab (the socket owner); `overlay` shows them on top of the server's state.
 * @module tasksync/outbox
 */

import { AuthError, ConflictError, TasksyncError } from "./errors.js";
import { newId, taskPath } from "./rest.js";
import { retryDelay } from "./retry.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./storage.js").TaskStorage} TaskStorage */

/** @typedef {"create" | "update" | "replace" | "toggle" | "delete"} Operation */

/**
 * @typedef {object} QueuedWrite
 * @property {number} [n]  its place in the queue (given by storage)
 * @property {Operation} operation
 * @property {string} id  the task's id; for a create, chosen here (a UUID)
 * @property {"PUT" | "PATCH" | "DELETE"} method
 * @property {string} path  relative to the API's base URL
 * @property {TaskFields | null} body
 * @property {number | null} ifMatch  the version the write was based on (null: last writer wins)
 * @property {boolean} ifNoneMatch  a create: `If-None-Match: *`
 * @property {string} key  its `Idempotency-Key`, the same on every attempt
 * @property {string} clientId  the `X-Client-Id` of the tab that made it
 * @property {string} createdAt
 * @property {number} attempts  how many times it was sent (its answer may have been lost)
 */

/**
 * How the server settled a write. `applied`: written (or replayed), `task` as the
 * server returned it (null for a delete), `seq` its event; `conflict`: a `412`, nothing
 * written, `current` the task now; `missing`: a `404` (deleted elsewhere); `rejected`:
 * another `4xx` (invalid, over quota, …).
 * @typedef {{kind: "applied", task: Task | null, seq: number | null}
 *   | {kind: "conflict", current: Task, error: ConflictError}
 *   | {kind: "missing", error: TasksyncError}
 *   | {kind: "rejected", error: TasksyncError}} Outcome
 */

/**
 * @typedef {object} OutboxHooks
 * @property {() => boolean} mayFlush  whether this tab sends the queue now
 * @property {(write: QueuedWrite, outcome: Outcome) => void} onSettled
 * @property {() => void} onChange  the queue changed (a write added, settled or reloaded)
 * @property {(error: Error) => void} onError
 */

// The longest wait between attempts while the server is unreachable; a reconnect or
// the browser's `online` event wakes the queue sooner. A wait the server named (a
// `429`'s or `503`'s `Retry-After`) is always waited out in full, whatever wakes it.
const MAX_RETRY_MS = 10_000;

/**
 * A write as data, ready to queue.
 * @param {Operation} operation @param {string | null} id  null: a create, with a new id
 * @param {TaskFields | null} body @param {number | null} ifMatch @param {string} clientId
 * @returns {QueuedWrite}
 */
export function queuedWrite(operation, id, body, ifMatch, clientId) {
  const taskId = id ?? newId();
  const path = operation === "toggle" ? `${taskPath(taskId)}/complete` : taskPath(taskId);
  /** @type {Record<Operation, QueuedWrite["method"]>} */
  const methods = { create: "PUT", replace: "PUT", update: "PATCH", toggle: "PATCH", delete: "DELETE" };
  return {
    operation,
    id: taskId,
    method: methods[operation],
    path,
    body,
    ifMatch: operation === "create" ? null : ifMatch,
    ifNoneMatch: operation === "create",
    key: newId(),
    clientId,
    createdAt: new Date().toISOString(),
    attempts: 0,
  };
}

/**
 * The tasks as they will be once the queued writes are applied, in order, on top of
 * the server's state; each write adds one to the version, as the server will (a create
 * makes version 1), so a write queued after another names the version that one makes.
 * @param {Map<string, Task>} confirmed @param {QueuedWrite[]} writes
 * @returns {Map<string, Task>}
 */
export function overlay(confirmed, writes) {
  if (writes.length === 0) return confirmed;
  const tasks = new Map(confirmed);
  for (const write of writes) {
    const known = tasks.get(write.id);
    const at = write.createdAt;
    const next = known && { ...known, updated_at: at, version: known.version + 1 };
    if (write.operation === "delete") tasks.delete(write.id);
    else if (write.operation === "create" && !known) {
      const fields = { description: "", completed: false, due_date: null, ...write.body };
      tasks.set(write.id, { title: "", ...fields, id: write.id, created_at: at, updated_at: at, version: 1 });
    } else if (next && write.operation === "update") tasks.set(write.id, { ...next, ...write.body });
    else if (next && write.operation === "replace")
      tasks.set(write.id, { ...next, description: "", completed: false, due_date: null, ...write.body });
    else if (next && write.operation === "toggle") tasks.set(write.id, { ...next, completed: !known.completed });
  }
  return tasks;
}

/** @param {unknown} error */
const asError = (error) => (error instanceof Error ? error : new Error(String(error)));

export class Outbox {
  /** @param {TaskStorage} storage @param {TasksyncClient} client @param {OutboxHooks} hooks */
  constructor(storage, client, hooks) {
    this.storage = storage;
    this.client = client;
    this.hooks = hooks;
    /** The queue as this tab last read it, oldest first. @type {QueuedWrite[]} */
    this.writes = [];
    /**
     * The writes known to be settled: a read of the queue that began before one was
     * removed must not bring it back (numbers are never reused).
     * @type {Set<number>}
     */
    this.settled = new Set();
    /** @type {Promise<void> | null} */
    this.flushing = null;
    /** @type {(() => void) | null} */
    this.wakeUp = null;
    this.closed = false;
  }

  /** Read the queue again (another tab changed it). */
  async reload() {
    const stored = await this.storage.readOutbox();
    this.writes = stored.filter((w) => w.n === undefined || !this.settled.has(w.n));
    this.hooks.onChange();
    this.wake();
  }

  /** Queue a write; resolves once it is stored. @param {QueuedWrite} write */
  async add(write) {
    const stored = await this.storage.addWrite(write);
    this.writes.push(stored);
    this.hooks.onChange();
    this.wake();
    return stored;
  }

  /** Another tab settled write `n`. @param {number} n */
  forget(n) {
    this.settled.add(n);
    this.writes = this.writes.filter((w) => w.n !== n);
    this.hooks.onChange();
  }

  /** Send now: the queue has a new write, or the server may be reachable again. */
  wake() {
    this.wakeUp?.();
    if (!this.flushing && !this.closed && this.writes.length && this.hooks.mayFlush()) {
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.writes.length && this.hooks.mayFlush()) this.wake();
      });
    }
  }

  close() {
    this.closed = true;
    this.wakeUp?.();
  }

  async flush() {
    let failures = 0;
    while (!this.closed && this.hooks.mayFlush()) {
      const head = this.writes[0];
      if (!head || head.n === undefined) return;
      // Counted before it goes out: if this tab closes mid-request, the next sender
      // resends it with the same key.
      const write = await this.storage.claimWrite(head.n);
      if (!write) {
        this.forget(head.n); // another tab settled it
        continue;
      }
      /** @type {Outcome} */
      let outcome;
      try {
        outcome = { kind: "applied", ...(await this.client.send(write)) };
      } catch (error) {
        // Not an answer (the token provider failed, say): as with a network error, later.
        const answered = error instanceof TasksyncError;
        if (!answered || error instanceof AuthError || error.retryable || error.status === 409) {
          // Being offline is the connection state's to say; the rest is worth a word.
          if (!answered || error instanceof AuthError) this.hooks.onError(asError(error));
          const wait = answered ? error.retryAfter : null;
          await this.pause(retryDelay(failures++, wait, MAX_RETRY_MS), (wait ?? 0) * 1000);
          continue;
        }
        outcome =
          error instanceof ConflictError
            ? { kind: "conflict", current: error.current, error }
            : { kind: error.status === 404 ? "missing" : "rejected", error };
      }
      failures = 0;
      await this.storage.removeWrite(head.n);
      this.settled.add(head.n);
      this.writes = this.writes.filter((w) => w.n !== head.n);
      this.hooks.onSettled(write, outcome);
      this.hooks.onChange();
    }
  }

  /**
   * Wait `ms`, or less when woken (a new write, back online) or closed; a wake-up within
   * the first `atLeast` ms is ignored. @param {number} ms @param {number} [atLeast]
   */
  pause(ms, atLeast = 0) {
    const earliest = Date.now() + atLeast;
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = null;
        resolve(undefined);
      }
      this.wakeUp = () => (this.closed || Date.now() >= earliest) && done();
      if (this.closed) done();
    });
  }
}
