// @ts-check
/**
 * What the server's answer to the write at the head of the queue does to the queue and
 * to the conflicts (docs/sync-model.md, "The answers"), as a plan the outbox stores in
 * one transaction. Pure: no storage, no network, so the rules read (and test) alone.
 *
 * * applied: the write goes; a later delete of its task made on the version just before
 *   the answer's moves to that version (this device's own writes do not make its delete
 *   a conflict).
 * * `409` to an edit: a failed field already holding the wanted value is agreed; any other
 *   failed field becomes a conflict, into which later queued edits of that field fold.
 *   The fields whose tests held stay at the head, under a new `Idempotency-Key`.
 * * `412` to a delete: a conflict of the whole task.
 * * `404` to an edit: dropped as missing, with every later write of its task.
 * * any other `4xx`: dropped as rejected; later edits that had tested against its values
 *   are rebased onto what it had seen (a refused create takes its task's writes along).
 * @module tasksync/answers
 */

import { FIELDS, same, valueOf, withFields } from "./writes.js";
import { newId } from "./rest.js";

/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./outbox.js").Outcome} Outcome */
/** @typedef {import("./writes.js").Field} Field */
/** @typedef {import("./rest.js").TaskFields} TaskFields */
/** @typedef {import("./conflicts.js").Conflict} Conflict */
/** @typedef {import("./conflicts.js").FieldConflict} FieldConflict */

/**
 * @typedef {object} AnswerPlan
 * @property {QueuedWrite[]} put  queued writes to store again as changed (the head first when it is sent again)
 * @property {number[]} remove  queued writes that leave the queue
 * @property {Conflict[]} conflicts  new conflicts (each replaces any of its key)
 * @property {QueuedWrite[]} dropped  writes dropped and to be reported, the answered one first
 * @property {"missing" | "rejected" | null} reason  why they were dropped
 */

/** @param {TaskFields} fields @param {Field} field @returns {TaskFields} */
function without(fields, field) {
  const rest = /** @type {Record<string, unknown>} */ ({ ...fields });
  delete rest[field];
  return rest;
}

/** @param {TaskFields} fields */
const isEmpty = (fields) => Object.keys(fields).length === 0;

/** @param {unknown} path @returns {Field | null} */
function fieldOf(path) {
  const name = typeof path === "string" ? path.slice(1) : "";
  return FIELDS.find((field) => field === name) ?? null;
}

/**
 * @param {QueuedWrite} write  the write that was answered
 * @param {Outcome} outcome
 * @param {QueuedWrite[]} later  the rest of the queue, oldest first
 * @returns {AnswerPlan}
 */
export function planAnswer(write, outcome, later) {
  /** @type {AnswerPlan} */
  const plan = { put: [], remove: [], conflicts: [], dropped: [], reason: null };
  const n = /** @type {number} */ (write.n);
  const ofTask = later.filter((w) => w.id === write.id && w.n !== undefined);

  if (outcome.kind === "applied") {
    plan.remove.push(n);
    const version = outcome.task?.version;
    if (version !== undefined)
      for (const next of ofTask)
        if (next.operation === "delete" && next.ifMatch === version - 1) plan.put.push({ ...next, ifMatch: version });
  } else if (outcome.kind === "conflict" && write.operation === "edit") {
    editConflict(write, outcome.conflicts, ofTask, plan);
  } else if (outcome.kind === "conflict") {
    plan.remove.push(n);
    const seen = "id" in write.seen ? /** @type {import("./rest.js").Task} */ (write.seen) : null;
    plan.conflicts.push({ key: `${write.id}/delete`, taskId: write.id, field: null, seen, wanted: null, server: outcome.current });
  } else if (outcome.kind === "missing") {
    drop(plan, "missing", write, ofTask);
  } else if (write.operation === "create") {
    drop(plan, "rejected", write, ofTask);
  } else {
    drop(plan, "rejected", write, []);
    if (write.operation === "edit") rebase(write, ofTask, plan);
  }
  return plan;
}

/**
 * @param {AnswerPlan} plan @param {"missing" | "rejected"} reason
 * @param {QueuedWrite} write @param {QueuedWrite[]} along  later writes dropped with it
 */
function drop(plan, reason, write, along) {
  plan.reason = reason;
  plan.dropped = [write, ...along];
  plan.remove.push(...plan.dropped.map((w) => /** @type {number} */ (w.n)));
}

/**
 * A `409`: agreed fields and conflicts leave the write; later edits of a conflicting
 * field fold into it; the rest is sent again at once under a new key.
 * @param {QueuedWrite} write @param {{path: string, expected: unknown, actual: unknown}[]} failed
 * @param {QueuedWrite[]} ofTask @param {AnswerPlan} plan
 */
function editConflict(write, failed, ofTask, plan) {
  let { changes, seen } = write;
  /** @type {Map<Field, FieldConflict>} */
  const conflicts = new Map();
  for (const { path, actual } of Array.isArray(failed) ? failed : []) {
    const field = fieldOf(path);
    if (!field || !(field in changes)) continue;
    const wanted = /** @type {FieldConflict["wanted"]} */ (valueOf(changes, field));
    const server = /** @type {FieldConflict["server"]} */ (actual);
    const saw = /** @type {FieldConflict["seen"]} */ (valueOf(seen, field) ?? null);
    if (!same(server, wanted)) conflicts.set(field, { key: `${write.id}/${field}`, taskId: write.id, field, seen: saw, wanted, server });
    changes = without(changes, field);
    seen = without(seen, field);
  }
  /** @type {QueuedWrite[]} */
  const folded = [];
  for (const next of ofTask) {
    if (next.operation !== "edit") continue;
    let nextChanges = next.changes;
    let nextSeen = next.seen;
    for (const [field, conflict] of conflicts) {
      if (!(field in nextChanges)) continue;
      conflict.wanted = /** @type {FieldConflict["wanted"]} */ (valueOf(nextChanges, field));
      nextChanges = without(nextChanges, field);
      nextSeen = without(nextSeen, field);
    }
    if (nextChanges === next.changes) continue;
    // Its change lives on in the conflict.
    if (isEmpty(nextChanges)) plan.remove.push(/** @type {number} */ (next.n));
    else folded.push(withFields(next, nextChanges, nextSeen));
  }
  // A later edit may have brought the wanted value to the server's: nothing to settle.
  plan.conflicts = [...conflicts.values()].filter((c) => !same(c.wanted, c.server));
  if (isEmpty(changes)) plan.remove.unshift(/** @type {number} */ (write.n));
  else plan.put.push({ ...withFields(write, changes, seen), key: newId(), attempts: 0 });
  plan.put.push(...folded);
}

/**
 * A refused edit: later edits that tested a field against the value it would have set
 * test against the value it had seen instead (what the server still holds). A field
 * left changing nothing leaves the edit; an edit left with nothing goes, silently.
 * @param {QueuedWrite} write @param {QueuedWrite[]} ofTask @param {AnswerPlan} plan
 */
function rebase(write, ofTask, plan) {
  for (const next of ofTask) {
    if (next.operation !== "edit") continue;
    let changes = next.changes;
    let seen = next.seen;
    for (const field of FIELDS) {
      if (!(field in write.changes) || !(field in seen) || !same(valueOf(seen, field), valueOf(write.changes, field))) continue;
      const before = valueOf(write.seen, field) ?? null;
      if (same(valueOf(changes, field), before)) {
        changes = without(changes, field);
        seen = without(seen, field);
      } else seen = { ...seen, [field]: before };
    }
    if (seen === next.seen && changes === next.changes) continue;
    if (isEmpty(changes)) plan.remove.push(/** @type {number} */ (next.n));
    else plan.put.push(withFields(next, changes, seen));
  }
}
