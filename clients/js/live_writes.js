// @ts-check
/**
 * The writes of `LiveStore`, its base class (as `LiveWrites` is `LiveTasks`'s in the
 * Python client): each write is a `QueuedWrite` added to the outbox (outbox.js), shown
 * at once on top of the server's state, with `If-Match` set to the version the store
 * shows; `settle` applies the server's answer to the mirror and reports a conflict
 * (`onConflict`) or a dropped write (`onDropped`). `LiveStore` (live.js) and `LiveSync`
 * (live_sync.js), its subclasses, provide the state they work on: the mirror, the
 * outbox, the tasks as shown, the tab channel.
 * @module tasksync/live_writes
 */

import { queuedWrite } from "./outbox.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./mirror.js").TaskMirror} TaskMirror */
/** @typedef {import("./outbox.js").Outbox} Outbox */
/** @typedef {import("./outbox.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./outbox.js").Outcome} Outcome */
/** @typedef {import("./tabs.js").Relay} Relay */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */

export class LiveWrites {
  /** @param {TasksyncClient} client @param {LiveStoreOptions} options */
  constructor(client, options) {
    this.client = client;
    this.options = options;
    /** Set by `start()`. @type {Outbox | null} */
    this.outbox = null;
    /** The highest `Tasksync-Seq` of a settled write: the mirror has seen it once `seq` reaches it. */
    this.writtenSeq = 0;
    /** The server's state, which the answers apply to (the store's, set by it). @type {TaskMirror} */
    this.mirror = /** @type {any} */ (null);
  }

  // ---- provided by LiveStore ------------------------------------------------------

  /** @param {string} _id @returns {Task | undefined} */
  get(_id) {
    throw new Error("provided by LiveStore");
  }

  /** @returns {boolean} */
  get durable() {
    throw new Error("provided by LiveStore");
  }

  /** @param {Relay} _message */
  post(_message) {
    throw new Error("provided by LiveStore");
  }

  /** @param {unknown} _error */
  report(_error) {
    throw new Error("provided by LiveStore");
  }

  // ---- writes ---------------------------------------------------------------------

  /**
   * Create a task (its id is chosen here, so it can be edited before it reaches the
   * server). Resolves, once queued, with the task as it is shown.
   * @example
   * const task = await store.create({ title: "Buy milk", due_date: "2026-12-01" });
   * @param {TaskFields & {title: string}} fields
   * @returns {Promise<Task>}
   */
  async create(fields) {
    const write = await this.queue("create", null, fields, null);
    return /** @type {Task} */ (this.get(write.id));
  }

  /**
   * Change some fields. `ifMatch` defaults to the version this store shows; pass a
   * version to overwrite exactly that one, or `null` for last-writer-wins.
   * @example
   * await store.update(id, { title: "Buy oat milk" });
   * @param {string} id @param {TaskFields} changes @param {{ifMatch?: number | null}} [options]
   */
  async update(id, changes, { ifMatch } = {}) {
    await this.queue("update", id, changes, ifMatch);
    return this.get(id);
  }

  /**
   * Replace the editable fields (`PUT`: omitted optional ones return to their defaults).
   * @example
   * await store.replace(id, { title: "Buy milk", completed: true });
   * @param {string} id @param {TaskFields & {title: string}} fields @param {{ifMatch?: number | null}} [options]
   */
  async replace(id, fields, { ifMatch } = {}) {
    await this.queue("replace", id, fields, ifMatch);
    return this.get(id);
  }

  /**
   * Flip `completed`.
   * @example
   * await store.toggle(id);
   * @param {string} id @param {{ifMatch?: number | null}} [options]
   */
  async toggle(id, { ifMatch } = {}) {
    await this.queue("toggle", id, null, ifMatch);
    return this.get(id);
  }

  /**
   * Delete; a task that turns out to be gone already counts as deleted.
   * @example
   * await store.remove(id);
   * @param {string} id @param {{ifMatch?: number | null}} [options]
   */
  async remove(id, { ifMatch } = {}) {
    await this.queue("delete", id, null, ifMatch);
  }

  /**
   * @param {import("./outbox.js").Operation} operation @param {string | null} id
   * @param {TaskFields | null} body @param {number | null | undefined} ifMatch
   */
  async queue(operation, id, body, ifMatch) {
    if (!this.outbox) throw new Error("start() the store first");
    const version = ifMatch === undefined ? (id === null ? null : (this.get(id)?.version ?? null)) : ifMatch;
    const write = await this.outbox.add(queuedWrite(operation, id, body, version, this.client.clientId));
    if (this.durable) this.post({ kind: "outbox" });
    return write;
  }

  /** The server answered a queued write (here, or in the tab that sent it). @param {QueuedWrite} write @param {Outcome} outcome */
  settle(write, outcome) {
    const info = { operation: write.operation, id: write.id, attempted: write.body, write };
    if (outcome.kind === "applied") {
      if (outcome.seq !== null) this.writtenSeq = Math.max(this.writtenSeq, outcome.seq);
      if (write.operation === "delete") this.mirror.forget(write.id, { mine: true });
      else if (outcome.task) this.mirror.applyWrite(outcome.task);
    } else if (outcome.kind === "conflict") {
      this.mirror.applyWrite(outcome.current);
      this.options.onConflict?.(outcome.current, { ...info, error: outcome.error });
    } else {
      if (outcome.kind === "missing") this.mirror.forget(write.id, { mine: false });
      if (this.options.onDropped) this.options.onDropped(write, outcome.error);
      else this.report(outcome.error);
    }
  }
}
