// @ts-check
/**
 * The outbox: every write made through `LiveStore` (a `QueuedWrite`, writes.js), kept in
 * storage until the server has answered it. Writes are sent strictly in order, one at a
 * time, by one tab (the socket owner), each again with the same `Idempotency-Key` until
 * an answer arrives (a retry after a lost answer applies once); what an answer does to
 * the rest of the queue is answers.js's.
 * @module tasksync/outbox
 */

import { planAnswer } from "./answers.js";
import { AuthError, ConflictError, TasksyncError } from "./errors.js";
import { retryDelay } from "./retry.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./storage.js").TaskStorage} TaskStorage */
/** @typedef {import("./answers.js").AnswerPlan} AnswerPlan */

/**
 * How the server answered a write. `applied`: written (or replayed; a delete of a task
 * already gone counts), `task` as returned (null for a delete), `seq` its event;
 * `conflict`: nothing written, `current` the task now, `conflicts` the failed tests of
 * an edit's `409` (empty for a delete's `412`); `missing`: an edit's `404` (deleted
 * elsewhere); `rejected`: any other `4xx` (invalid, over quota, …).
 * @typedef {{kind: "applied", task: Task | null, seq: number | null}
 *   | {kind: "conflict", current: Task, conflicts: {path: string, expected: unknown, actual: unknown}[], error: ConflictError}
 *   | {kind: "missing", error: TasksyncError}
 *   | {kind: "rejected", error: TasksyncError}} Outcome
 */

/**
 * @typedef {object} OutboxHooks
 * @property {() => boolean} mayFlush  whether this tab sends the queue now
 * @property {(write: QueuedWrite, outcome: Outcome, plan: AnswerPlan) => void} onSettled  after the queue and the conflicts were updated in storage
 * @property {(echo: boolean) => void} onChange  the queue changed; `echo`: by this tab's own doing
 * @property {(error: Error) => void} onError
 */

// The longest wait between attempts while the server is unreachable; a reconnect or
// the browser's `online` event wakes the queue sooner. A wait the server named (a
// `429`'s or `503`'s `Retry-After`) is always waited out in full, whatever wakes it.
const MAX_RETRY_MS = 10_000;

/** @param {unknown} error */
const asError = (error) => (error instanceof Error ? error : new Error(String(error)));

/**
 * The server's answer to `write` as an outcome; null when there is none yet (the network,
 * a `5xx`, `408`, `429`, a token to renew): the write is sent again with the same key.
 * @param {QueuedWrite} write @param {unknown} error @returns {Outcome | null}
 */
export function outcomeOf(write, error) {
  if (!(error instanceof TasksyncError) || error instanceof AuthError || error.retryable) return null;
  const { operation } = write;
  if (error instanceof ConflictError && operation === "edit" && error.status === 409)
    return { kind: "conflict", current: error.current, conflicts: error.conflicts, error };
  if (error instanceof ConflictError && operation === "delete" && error.status === 412)
    return { kind: "conflict", current: error.current, conflicts: [], error };
  // A delete of a task that is gone did what was asked.
  if (error.status === 404 && operation === "delete") return { kind: "applied", task: null, seq: null };
  if (error.status === 404 && operation === "edit") return { kind: "missing", error };
  return { kind: "rejected", error };
}

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
    /** Counts this tab's own changes to the queue, so a read that overlapped one is redone. */
    this.generation = 0;
    /** @type {Promise<void> | null} */
    this.flushing = null;
    /** @type {(() => void) | null} */
    this.wakeUp = null;
    this.closed = false;
  }

  /** Read the queue again (another tab changed it). */
  async reload() {
    /** @type {QueuedWrite[]} */
    let stored;
    let generation;
    do {
      generation = this.generation;
      stored = await this.storage.readOutbox();
    } while (generation !== this.generation);
    this.writes = stored.filter((w) => w.n === undefined || !this.settled.has(w.n));
    this.hooks.onChange(false);
    this.wake();
  }

  /**
   * Queue a write, settling the conflicts `settles` names in the same transaction;
   * resolves with the write, numbered, once it is stored.
   * @param {QueuedWrite} write @param {string[]} [settles]  conflict keys
   */
  async add(write, settles = []) {
    this.generation++;
    const stored = await this.storage.commit({ add: write, removeConflicts: settles });
    if (!stored) throw new Error("the write was not stored");
    this.writes.push(stored);
    this.hooks.onChange(true);
    this.wake();
    return stored;
  }

  /** Another tab settled write `n`. @param {number} n */
  forget(n) {
    this.settled.add(n);
    this.writes = this.writes.filter((w) => w.n !== n);
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
        this.hooks.onChange(false);
        continue;
      }
      /** @type {Outcome | null} */
      let outcome;
      try {
        outcome = { kind: "applied", ...(await this.client.send(write)) };
      } catch (error) {
        outcome = outcomeOf(write, error);
        if (!outcome) {
          // Being offline is the connection state's to say; the rest is worth a word.
          if (!(error instanceof TasksyncError) || error instanceof AuthError) this.hooks.onError(asError(error));
          const wait = error instanceof TasksyncError ? error.retryAfter : null;
          await this.pause(retryDelay(failures++, wait, MAX_RETRY_MS), (wait ?? 0) * 1000);
          continue;
        }
      }
      failures = 0;
      await this.settle(write, outcome);
    }
  }

  /**
   * Apply an answer to the queue: the write leaves it (or, after a `409`, stays at its
   * head with the fields that held, under a new key), and the later writes of its task
   * follow (answers.js). Planned on the queue as stored, in the transaction that stores
   * the plan, so a write another tab queued meanwhile is not missed; only then is
   * anything told.
   * @param {QueuedWrite} write @param {Outcome} outcome
   */
  async settle(write, outcome) {
    /** @type {AnswerPlan} */
    let plan = { put: [], remove: [], conflicts: [], dropped: [], reason: null };
    /** @type {QueuedWrite[]} */
    let queue = [];
    this.generation++;
    await this.storage.updateQueue((stored) => {
      plan = planAnswer(write, outcome, stored.filter((w) => w.n !== write.n));
      const replaced = new Map(plan.put.map((w) => [w.n, w]));
      queue = stored.filter((w) => !plan.remove.includes(w.n ?? -1)).map((w) => replaced.get(w.n) ?? w);
      return { put: plan.put, remove: plan.remove, putConflicts: plan.conflicts };
    });
    for (const n of plan.remove) this.settled.add(n);
    this.writes = queue.filter((w) => w.n === undefined || !this.settled.has(w.n));
    this.hooks.onSettled(write, outcome, plan);
    this.hooks.onChange(write.clientId === this.client.clientId);
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
