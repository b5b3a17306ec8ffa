// @ts-check
/**
 * The writes of `LiveCore`, its base class (as `LiveWrites` is `LiveTasks`'s in the
 * Python client), as docs/sync-model.md has them: each write is a `QueuedWrite`
 * (writes.js) added to the outbox (outbox.js) and shown at once on top of the server's
 * state. An edit is the fields it changes, each tested against the value the user saw
 * (shown now, or given as `seen` by a form opened earlier), so edits of different fields
 * from several devices merge; a same-field disagreement becomes a conflict
 * (conflicts.js) the user settles with `keepTheirs` or `useMine`.
 * `settle` applies the server's answer to the mirror and reports new conflicts
 * (`onConflict`) and dropped writes (`onDropped`, `dropped`), and answers those who wait
 * for it (write_answers.js). `LiveCore` (live_core.js) and `LiveSync` (live_sync.js),
 * its subclasses, provide the state they work on: the mirror, the outbox, the tasks as
 * shown, the tab channel. `LiveStore` (live.js) is the public face of all three.
 * @module tasksync/live_writes
 */

import { withServer } from "./conflicts.js";
import { StoreClosedError } from "./errors.js";
import { WriteAnswers } from "./write_answers.js";
import { FIELDS, createWrite, deleteWrite, editWrite, fieldsToEdit, valueOf } from "./writes.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */
/** @typedef {import("./mirror.js").TaskMirror} TaskMirror */
/** @typedef {import("./mirror.js").Change} Change */
/** @typedef {import("./outbox.js").Outbox} Outbox */
/** @typedef {import("./outbox.js").Outcome} Outcome */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./answers.js").AnswerPlan} AnswerPlan */
/** @typedef {import("./conflicts.js").Conflict} Conflict */
/** @typedef {import("./conflicts.js").ConflictList} ConflictList */
/** @typedef {import("./tabs.js").Relay} Relay */
/** @typedef {import("./live_options.js").LiveStoreOptions} LiveStoreOptions */
/** @typedef {import("./live_options.js").DroppedWrite} DroppedWrite */
/**
 * What a write method did here: its value, and the write it queued (null: nothing to send).
 * @template T @typedef {{value: T, write: QueuedWrite | null}} Written
 */

export class LiveWrites {
  /** @param {TasksyncClient} client @param {LiveStoreOptions} options */
  constructor(client, options) {
    this.client = client;
    this.options = options;
    /** Set by `start()`. @type {Outbox | null} */
    this.outbox = null;
    /** The open conflicts, as stored; set by `start()`. @type {ConflictList | null} */
    this.conflictList = null;
    /** The highest `Tasksync-Seq` of a settled write: the mirror has seen it once `seq` reaches it. */
    this.writtenSeq = 0;
    /** The server's state, which the answers apply to (the store's, set by it). @type {TaskMirror} */
    this.mirror = /** @type {any} */ (null);
    this.closed = false;
    /** The user signed out (here or in another tab): what this store held is deleted. */
    this.signedOut = false;
    /** The writes the server refused for good since the start, until dismissed. @type {DroppedWrite[]} */
    this.dropped = [];
    this.answers = new WriteAnswers();
  }

  /** Forget what a previous start held (`LiveSync.reopen`). */
  reopen() {
    this.outbox = null;
    this.conflictList = null;
    this.writtenSeq = 0;
    this.closed = false;
    this.signedOut = false;
    this.dropped = [];
    this.answers = new WriteAnswers();
  }

  // ---- provided by LiveCore ------------------------------------------------------

  /** @param {string} _id @returns {Task | undefined} */
  get(_id) {
    throw new Error("provided by LiveCore");
  }

  /** @returns {boolean} */
  get durable() {
    throw new Error("provided by LiveCore");
  }

  /** @param {Relay} _message */
  post(_message) {
    throw new Error("provided by LiveCore");
  }

  /** @param {unknown} _error */
  report(_error) {
    throw new Error("provided by LiveCore");
  }

  /** @param {Change} _change */
  changed(_change) {
    throw new Error("provided by LiveCore");
  }

  notify() {
    throw new Error("provided by LiveCore");
  }

  // ---- writes ---------------------------------------------------------------------

  /** `LiveStore.create`. @param {TaskFields & {title: string}} fields @returns {Promise<Written<Task>>} */
  async create(fields) {
    const outbox = this.writable();
    const write = await this.queue(outbox, createWrite(fields, this.client.clientId));
    return { value: /** @type {Task} */ (this.get(write.id)), write };
  }

  /** `LiveStore.update`. @param {string} id @param {TaskFields} changes @param {{seen?: TaskFields}} [options] */
  async update(id, changes, options = {}) {
    return this.edit(id, changes, options.seen);
  }

  /** `LiveStore.replace`. @param {string} id @param {TaskFields & {title: string}} fields @param {{seen?: TaskFields}} [options] */
  async replace(id, fields, options = {}) {
    return this.edit(id, { description: "", completed: false, due_date: null, ...fields }, options.seen);
  }

  /** `LiveStore.complete`. @param {string} id @param {boolean} [completed] */
  async complete(id, completed = true) {
    return this.edit(id, { completed });
  }

  /** Complete the task if it is shown as not done, and the other way round. @param {string} id */
  async toggle(id) {
    this.writable();
    return this.edit(id, { completed: !this.shown(id).completed });
  }

  /** `LiveStore.delete`. @param {string} id @returns {Promise<Written<undefined>>} */
  async remove(id) {
    const outbox = this.writable();
    const shown = this.get(id);
    if (!shown) return { value: undefined, write: null };
    const write = deleteWrite(id, this.mirror.tasks.get(id)?.version ?? 0, shown, this.client.clientId);
    return { value: undefined, write: await this.queue(outbox, write, this.openKeys(id, ["delete"])) };
  }

  /** `LiveStore.conflicts`. @returns {Conflict[]} */
  get conflicts() {
    return this.conflictList?.shown(this.mirror.tasks) ?? [];
  }

  /** `LiveStore.keepTheirs`. @param {Conflict | string} conflictOrKey */
  async keepTheirs(conflictOrKey) {
    this.writable();
    await this.settleConflicts([keyOf(conflictOrKey)]);
  }

  /** `LiveStore.useMine`. @param {Conflict | string} conflictOrKey @returns {Promise<Written<undefined>>} */
  async useMine(conflictOrKey) {
    const outbox = this.writable();
    const conflict = this.conflictList?.find(keyOf(conflictOrKey));
    if (!conflict) return { value: undefined, write: null };
    const shown = this.get(conflict.taskId);
    if (shown && conflict.field === null) {
      const version = this.mirror.tasks.get(conflict.taskId)?.version ?? 0;
      const write = deleteWrite(conflict.taskId, version, shown, this.client.clientId);
      return { value: undefined, write: await this.queue(outbox, write, [conflict.key]) };
    }
    const edit = shown && conflict.field !== null ? fieldsToEdit(shown, { [conflict.field]: conflict.wanted }) : null;
    if (!edit) {
      await this.settleConflicts([conflict.key]);
      return { value: undefined, write: null };
    }
    const write = editWrite(conflict.taskId, edit.changes, edit.seen, this.client.clientId);
    return { value: undefined, write: await this.queue(outbox, write, [conflict.key]) };
  }

  /** The outbox, if this store can take a write; otherwise throws (nothing is queued). */
  writable() {
    if (this.signedOut) throw new StoreClosedError("the user signed out: this store takes no more writes");
    if (this.closed) throw new StoreClosedError("the store is closed: start() it again");
    if (!this.outbox || !this.conflictList) throw new StoreClosedError("start() the store first");
    return this.outbox;
  }

  /** The task as shown, or an error: an edit needs the values it is tested against. @param {string} id */
  shown(id) {
    const task = this.get(id);
    if (!task) throw new Error(`no task ${id} in this store (deleted, or never here)`);
    return task;
  }

  /** @param {string} id @param {TaskFields} wanted @param {TaskFields} [seen] @returns {Promise<Written<Task | undefined>>} */
  async edit(id, wanted, seen) {
    const outbox = this.writable();
    const shown = this.shown(id);
    checkSeen(wanted, seen);
    const edit = fieldsToEdit(shown, wanted, seen);
    if (!edit) return { value: /** @type {Task | undefined} */ (shown), write: null }; // nothing to do
    // Editing a field in conflict is the user's choice: that conflict is settled.
    const settles = this.openKeys(id, Object.keys(edit.changes));
    const write = await this.queue(outbox, editWrite(id, edit.changes, edit.seen, this.client.clientId), settles);
    return { value: this.get(id), write };
  }

  /** @param {string} id @param {string[]} fields @returns {string[]} */
  openKeys(id, fields) {
    return this.conflictList?.keysOf(id, fields) ?? [];
  }

  /**
   * Store `write` (and the settling of the conflicts `settles` names, in the same
   * transaction) and tell the other tabs.
   * @param {Outbox} outbox @param {QueuedWrite} write @param {string[]} [settles]
   */
  async queue(outbox, write, settles = []) {
    if (settles.length) this.conflictList?.drop(settles);
    const stored = await outbox.add(write, settles);
    // Signed out in another tab while it was being stored: it was deleted with the rest.
    if (this.signedOut) throw new StoreClosedError("the user signed out: the write was discarded");
    this.answers.expect(stored);
    if (this.durable) this.post({ kind: "outbox" });
    return stored;
  }

  /** @param {string[]} keys */
  async settleConflicts(keys) {
    await this.conflictList?.settle(keys);
    if (this.durable) this.post({ kind: "conflicts" });
    this.conflictsChanged();
  }

  conflictsChanged() {
    this.changed({ type: "conflicts", id: null, task: null, echo: false, seq: this.mirror.seq });
  }

  /**
   * The server answered a queued write (here, or in the tab that sent it, which stored
   * `plan`, what the answer did to the queue and the conflicts). `echo` only in the tab
   * that made the write.
   * @param {QueuedWrite} write @param {Outcome} outcome @param {AnswerPlan} plan
   */
  settle(write, outcome, plan) {
    const echo = write.clientId === this.client.clientId;
    if (outcome.kind === "applied") {
      if (outcome.seq !== null) this.writtenSeq = Math.max(this.writtenSeq, outcome.seq);
      if (write.operation === "delete") this.mirror.forget(write.id, { mine: true, echo });
      else if (outcome.task) this.mirror.applyWrite(outcome.task, { echo });
    } else if (outcome.kind === "conflict") {
      this.mirror.applyWrite(outcome.current, { echo: false }); // another device's change
    } else if (outcome.kind === "missing") {
      this.mirror.forget(write.id, { mine: false, echo: false });
    }
    const conflicts = plan.conflicts.map((conflict) => withServer(conflict, this.mirror.tasks));
    if (conflicts.length) {
      this.conflictList?.note(plan.conflicts);
      this.conflictsChanged();
      for (const conflict of conflicts) this.options.onConflict?.(conflict);
    }
    const reason = plan.reason;
    const error = "error" in outcome ? outcome.error : null;
    /** @type {DroppedWrite[]} */
    const dropped = reason && error ? plan.dropped.map((write) => ({ ...write, reason, error })) : [];
    this.answers.answer(write, outcome, plan, { conflicts, dropped, task: (id) => this.get(id) ?? null });
    if (!dropped.length || !error) return;
    this.dropped = [...this.dropped, ...dropped];
    for (const write of dropped) {
      if (this.options.onDropped) this.options.onDropped(write, error);
      else this.report(error);
    }
    this.notify();
  }

  /**
   * Forget a dropped write once the user has seen it (all of them without an argument).
   * @param {DroppedWrite | string} [writeOrKey]  a dropped write, or its `key`
   */
  dismissDropped(writeOrKey) {
    const key = typeof writeOrKey === "string" ? writeOrKey : writeOrKey?.key;
    const kept = key === undefined ? [] : this.dropped.filter((write) => write.key !== key);
    if (kept.length === this.dropped.length) return;
    this.dropped = kept;
    this.notify();
  }

  /**
   * Remove the conflicts the server's state settled by itself (the wanted value arrived,
   * or the task is gone), in the tab that keeps the shared state.
   */
  async sweepConflicts() {
    if (await this.conflictList?.sweep(this.mirror.tasks)) {
      if (this.durable) this.post({ kind: "conflicts" });
      this.conflictsChanged();
    }
  }
}

/**
 * `seen` names only fields the edit changes: a value seen of a field not being changed
 * means nothing, and a misspelt field would silently fall back to the value shown now,
 * overwriting the very change `seen` is there to protect.
 * @param {TaskFields} wanted @param {TaskFields | undefined} seen
 */
function checkSeen(wanted, seen) {
  if (seen === undefined) return;
  if (seen === null || typeof seen !== "object") throw new TypeError("seen is an object: field → the value the user saw");
  for (const field of Object.keys(seen)) {
    if (!FIELDS.includes(/** @type {any} */ (field)) || valueOf(wanted, /** @type {any} */ (field)) === undefined) {
      throw new TypeError(`seen names ${JSON.stringify(field)}, which this edit does not change`);
    }
  }
}

/** @param {Conflict | string} conflictOrKey */
const keyOf = (conflictOrKey) => (typeof conflictOrKey === "string" ? conflictOrKey : conflictOrKey.key);
