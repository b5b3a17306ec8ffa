// @ts-check
/**
 * The conflicts (docs/sync-model.md, "Conflicts"): same-field disagreements the user has
 * not settled yet, kept in storage and shared by the tabs. One per task and field (key
 * `"<task id>/<field>"`; `"<task id>/delete"` for a delete the server refused because the
 * task had changed). A conflict shows the server's value as this device knows it now,
 * and goes by itself once the server holds the wanted value or the task is deleted.
 * @module tasksync/conflicts
 */

import { same } from "./writes.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./writes.js").Field} Field */
/** @typedef {import("./storage.js").TaskStorage} TaskStorage */

/** A field's value: a title or description, `completed`, a `due_date` (or none). @typedef {string | boolean | null} FieldValue */

/**
 * A field that this device and the server disagree on: `seen` is the value the user saw,
 * `wanted` the one they chose, `server` the server's value.
 * @typedef {object} FieldConflict
 * @property {string} key  `"<task id>/<field>"`
 * @property {string} taskId
 * @property {Field} field
 * @property {FieldValue} seen
 * @property {FieldValue} wanted
 * @property {FieldValue} server
 */

/**
 * A delete the server refused: the task changed since this device saw it as `seen`;
 * `server` is the task as it is now.
 * @typedef {object} DeleteConflict
 * @property {string} key  `"<task id>/delete"`
 * @property {string} taskId
 * @property {null} field
 * @property {Task | null} seen  the task as shown when the delete was made
 * @property {null} wanted  deleted
 * @property {Task} server
 */

/** @typedef {FieldConflict | DeleteConflict} Conflict */

/**
 * Whether the server's state has settled `conflict` by itself: the task is gone, or its
 * field now holds the wanted value.
 * @param {Conflict} conflict @param {Map<string, Task>} confirmed
 */
export function settledBy(conflict, confirmed) {
  const task = confirmed.get(conflict.taskId);
  if (!task) return true;
  return conflict.field !== null && same(task[conflict.field], conflict.wanted);
}

/** `conflict` with `server` as `confirmed` has it. @param {Conflict} conflict @param {Map<string, Task>} confirmed @returns {Conflict} */
export function withServer(conflict, confirmed) {
  const task = confirmed.get(conflict.taskId);
  if (!task) return conflict;
  return conflict.field === null ? { ...conflict, server: task } : { ...conflict, server: task[conflict.field] };
}

/** The conflicts as this tab last read them from storage. */
export class ConflictList {
  /** @param {TaskStorage} storage */
  constructor(storage) {
    this.storage = storage;
    /** @type {Conflict[]} */
    this.stored = [];
    /** Counts this tab's own changes, so a read that overlapped one is redone. */
    this.generation = 0;
  }

  /** Read them again (another tab changed them). */
  async reload() {
    /** @type {Conflict[]} */
    let stored;
    let generation;
    do {
      generation = this.generation;
      stored = await this.storage.readConflicts();
    } while (generation !== this.generation);
    this.stored = stored;
  }

  /** New conflicts, already stored: each replaces any of its key. @param {Conflict[]} added */
  note(added) {
    this.generation++;
    const keys = new Set(added.map((c) => c.key));
    this.stored = [...this.stored.filter((c) => !keys.has(c.key)), ...added];
  }

  /** The conflicts still open, as `confirmed` shows the server. @param {Map<string, Task>} confirmed */
  shown(confirmed) {
    return this.stored.filter((c) => !settledBy(c, confirmed)).map((c) => withServer(c, confirmed));
  }

  /** @param {string} key */
  find(key) {
    return this.stored.find((c) => c.key === key);
  }

  /** The open conflicts of `taskId` among `fields`. @param {string} taskId @param {Iterable<string>} fields */
  keysOf(taskId, fields) {
    const wanted = new Set([...fields].map((field) => `${taskId}/${field}`));
    return this.stored.filter((c) => wanted.has(c.key)).map((c) => c.key);
  }

  /** Settle conflicts: they go, from storage too. @param {string[]} keys */
  async settle(keys) {
    this.drop(keys);
    await this.storage.commit({ removeConflicts: keys });
  }

  /** Forget conflicts settled elsewhere (or being stored as settled). @param {string[]} keys */
  drop(keys) {
    this.generation++;
    this.stored = this.stored.filter((c) => !keys.includes(c.key));
  }

  /**
   * Remove from storage the conflicts the server's state has settled; resolves with
   * whether any went. The check is redone inside the transaction, so a newer conflict
   * of the same key stored meanwhile stays.
   * @param {Map<string, Task>} confirmed
   */
  async sweep(confirmed) {
    if (!this.stored.some((c) => settledBy(c, confirmed))) return false;
    this.generation++;
    const removed = await this.storage.removeConflictsWhere((c) => settledBy(c, confirmed));
    this.drop(removed);
    return removed.length > 0;
  }
}
