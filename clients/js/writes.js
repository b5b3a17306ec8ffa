// @ts-check
/**
 * A queued write as data (docs/sync-model.md, "The writes, as queued"): a `create`
 * (`PUT` with `If-None-Match: *`), an `edit` (the fields it changes, each with the value
 * the user saw, sent as a JSON Patch of `test` + `replace`) or a `delete` (`If-Match`),
 * each with its `Idempotency-Key` and the `X-Client-Id` of the tab that made it, so the
 * same record is sent, retried, shown as pending and explained in a conflict; and
 * `overlay`, the queue shown on top of the server's state.
 * @module tasksync/writes
 */

import { newId, taskPath } from "./rest.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskFields} TaskFields */

/** @typedef {"create" | "edit" | "delete"} Operation */

/** @typedef {"title" | "description" | "completed" | "due_date"} Field */

/** One operation of a JSON Patch document (RFC 6902), as an edit sends it. @typedef {{op: "test" | "replace", path: string, value: unknown}} PatchOperation */

/**
 * @typedef {object} QueuedWrite
 * @property {number} [n]  its place in the queue (given by storage)
 * @property {Operation} operation
 * @property {string} id  the task's id; for a create, chosen here (a UUID)
 * @property {"PUT" | "PATCH" | "DELETE"} method
 * @property {string} path  relative to the API's base URL
 * @property {TaskFields | PatchOperation[] | null} body  as sent: a create's fields, an edit's patch document
 * @property {TaskFields} changes  the fields it sets, to the values wanted (a create: every field it names)
 * @property {TaskFields} seen  an edit: each changed field's value as shown when the edit was made; a delete: the task as shown
 * @property {number | null} ifMatch  a delete: the version it was made on (0: a task only queued for creation)
 * @property {boolean} ifNoneMatch  a create: `If-None-Match: *`
 * @property {string} key  its `Idempotency-Key`, the same on every attempt
 * @property {string} clientId  the `X-Client-Id` of the tab that made it
 * @property {string} createdAt
 * @property {number} attempts  how many times it was sent (its answer may have been lost)
 */

/** The editable fields, in the order the server lists them. @type {Field[]} */
export const FIELDS = ["title", "description", "completed", "due_date"];

/** JSON equality of two field values (strings, booleans, null). @param {unknown} a @param {unknown} b */
export const same = (a, b) => a === b || JSON.stringify(a) === JSON.stringify(b);

/** @param {TaskFields} fields @param {Field} field @returns {unknown} */
export const valueOf = (fields, field) => /** @type {Record<string, unknown>} */ (fields)[field];

/**
 * A create, ready to queue: a new id, every field it names.
 * @param {TaskFields & {title: string}} fields @param {string} clientId @returns {QueuedWrite}
 */
export function createWrite(fields, clientId) {
  const id = newId();
  // Trimmed as the server trims it, so that a later edit's `test` of it holds.
  const body = { ...fields, title: typeof fields.title === "string" ? fields.title.trim() : fields.title };
  return record("create", id, "PUT", body, { changes: body, seen: {}, ifMatch: null }, clientId);
}

/**
 * An edit, ready to queue: `changes` (field → wanted) tested against `seen` (field → shown).
 * @param {string} id @param {TaskFields} changes @param {TaskFields} seen @param {string} clientId
 * @returns {QueuedWrite}
 */
export function editWrite(id, changes, seen, clientId) {
  return withFields(record("edit", id, "PATCH", null, { changes, seen, ifMatch: null }, clientId), changes, seen);
}

/**
 * A delete, ready to queue, made on version `ifMatch` of the task shown as `seen`.
 * @param {string} id @param {number} ifMatch @param {Task} seen @param {string} clientId @returns {QueuedWrite}
 */
export function deleteWrite(id, ifMatch, seen, clientId) {
  return record("delete", id, "DELETE", null, { changes: {}, seen, ifMatch }, clientId);
}

/**
 * @param {Operation} operation @param {string} id @param {QueuedWrite["method"]} method
 * @param {QueuedWrite["body"]} body @param {{changes: TaskFields, seen: TaskFields, ifMatch: number | null}} fields
 * @param {string} clientId @returns {QueuedWrite}
 */
function record(operation, id, method, body, { changes, seen, ifMatch }, clientId) {
  return {
    operation,
    id,
    method,
    path: taskPath(id),
    body,
    changes,
    seen,
    ifMatch,
    ifNoneMatch: operation === "create",
    key: newId(),
    clientId,
    createdAt: new Date().toISOString(),
    attempts: 0,
  };
}

/**
 * The same edit with other fields: its patch document rebuilt, a `test` of the value
 * seen before each `replace`, so that it applies only to what the user saw.
 * @param {QueuedWrite} write @param {TaskFields} changes @param {TaskFields} seen @returns {QueuedWrite}
 */
export function withFields(write, changes, seen) {
  /** @type {PatchOperation[]} */
  const body = [];
  for (const field of FIELDS) {
    if (!(field in changes)) continue;
    body.push({ op: "test", path: `/${field}`, value: valueOf(seen, field) ?? null });
    body.push({ op: "replace", path: `/${field}`, value: valueOf(changes, field) });
  }
  return { ...write, changes, seen, body };
}

/**
 * The tasks as the user sees them: the server's state with the queued writes applied in
 * order. A create adds its task (version 0 until the server has it), an edit sets the
 * fields it changes whatever the task's version, a delete removes the task.
 * @param {Map<string, Task>} confirmed @param {QueuedWrite[]} writes
 * @returns {Map<string, Task>}
 */
export function overlay(confirmed, writes) {
  if (writes.length === 0) return confirmed;
  const tasks = new Map(confirmed);
  for (const write of writes) {
    const known = tasks.get(write.id);
    const at = write.createdAt;
    if (write.operation === "delete") tasks.delete(write.id);
    else if (write.operation === "create" && !known) {
      const fields = { description: "", completed: false, due_date: null, ...write.changes };
      tasks.set(write.id, { title: "", ...fields, id: write.id, created_at: at, updated_at: at, version: 0 });
    } else if (known && write.operation === "edit") tasks.set(write.id, { ...known, ...write.changes });
  }
  return tasks;
}


/**
 * The queue as version 1 of the stored outbox held it (edits as merge patches or
 * toggles with `If-Match`), as queued writes of this model: each edit becomes the fields
 * it changes against the value shown, given the tasks as last confirmed, under a new
 * key (a first attempt that did apply makes its test fail with the wanted value: agreed).
 * @param {Record<string, any>[]} old @param {Map<string, Task>} confirmed
 * @returns {QueuedWrite[]}
 */
export function upgradeWrites(old, confirmed) {
  /** @type {QueuedWrite[]} */
  const writes = [];
  for (const w of old) {
    const common = /** @type {QueuedWrite} */ ({ ...w, changes: {}, seen: {}, ifMatch: w.ifMatch ?? null });
    if (w.operation === "create") writes.push({ ...common, changes: w.body ?? {} });
    else if (w.operation === "delete") writes.push(common);
    else {
      const shown = overlay(confirmed, writes).get(w.id);
      if (!shown) continue;
      /** @type {TaskFields} */
      const wanted =
        w.operation === "toggle"
          ? { completed: !shown.completed }
          : w.operation === "replace"
            ? { description: "", completed: false, due_date: null, ...w.body }
            : { ...w.body };
      const edit = fieldsToEdit(shown, wanted);
      if (edit) writes.push({ ...editWrite(w.id, edit.changes, edit.seen, w.clientId), n: w.n, createdAt: w.createdAt });
    }
  }
  return writes;
}

/**
 * The edit that takes `shown` to `wanted`: only the fields that change, each with the
 * value the user saw — its entry in `seen` if there is one (a form opened earlier saw an
 * older value than the one shown now), else the value shown now; null when nothing
 * changes. A field is left out when its wanted value is the one shown now (nothing to
 * do: another device may have made the same change) or the one the user saw (they did
 * not change it, so a change made elsewhere since stands). Titles are trimmed first, as
 * the server trims them.
 * @param {Task} shown @param {TaskFields} wanted @param {TaskFields} [seen]
 * @returns {{changes: TaskFields, seen: TaskFields} | null}
 */
export function fieldsToEdit(shown, wanted, seen = {}) {
  /** @type {Record<string, unknown>} */
  const changes = {};
  /** @type {Record<string, unknown>} */
  const tested = {};
  for (const field of FIELDS) {
    const value = trimmed(field, valueOf(wanted, field));
    if (value === undefined || same(value, shown[field])) continue;
    const saw = valueOf(seen, field) === undefined ? shown[field] : trimmed(field, valueOf(seen, field));
    if (same(value, saw)) continue;
    changes[field] = value;
    tested[field] = saw;
  }
  return Object.keys(changes).length ? { changes, seen: tested } : null;
}

/** @param {Field} field @param {unknown} value */
const trimmed = (field, value) => (field === "title" && typeof value === "string" ? value.trim() : value);
