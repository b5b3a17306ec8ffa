/**
 * A create, ready to queue: a new id, every field it names.
 * @param {TaskFields & {title: string}} fields @param {string} clientId @returns {QueuedWrite}
 */
export function createWrite(fields: TaskFields & {
    title: string;
}, clientId: string): QueuedWrite;
/**
 * An edit, ready to queue: `changes` (field → wanted) tested against `seen` (field → shown).
 * @param {string} id @param {TaskFields} changes @param {TaskFields} seen @param {string} clientId
 * @returns {QueuedWrite}
 */
export function editWrite(id: string, changes: TaskFields, seen: TaskFields, clientId: string): QueuedWrite;
/**
 * A delete, ready to queue, made on version `ifMatch` of the task shown as `seen`.
 * @param {string} id @param {number} ifMatch @param {Task} seen @param {string} clientId @returns {QueuedWrite}
 */
export function deleteWrite(id: string, ifMatch: number, seen: Task, clientId: string): QueuedWrite;
/**
 * The same edit with other fields: its patch document rebuilt, a `test` of the value
 * seen before each `replace`, so that it applies only to what the user saw.
 * @param {QueuedWrite} write @param {TaskFields} changes @param {TaskFields} seen @returns {QueuedWrite}
 */
export function withFields(write: QueuedWrite, changes: TaskFields, seen: TaskFields): QueuedWrite;
/**
 * The tasks as the user sees them: the server's state with the queued writes applied in
 * order. A create adds its task (version 0 until the server has it), an edit sets the
 * fields it changes whatever the task's version, a delete removes the task.
 * @param {Map<string, Task>} confirmed @param {QueuedWrite[]} writes
 * @returns {Map<string, Task>}
 */
export function overlay(confirmed: Map<string, Task>, writes: QueuedWrite[]): Map<string, Task>;
/**
 * The queue as version 1 of the stored outbox held it (edits as merge patches or
 * toggles with `If-Match`), as queued writes of this model: each edit becomes the fields
 * it changes against the value shown, given the tasks as last confirmed, under a new
 * key (a first attempt that did apply makes its test fail with the wanted value: agreed).
 * @param {Record<string, any>[]} old @param {Map<string, Task>} confirmed
 * @returns {QueuedWrite[]}
 */
export function upgradeWrites(old: Record<string, any>[], confirmed: Map<string, Task>): QueuedWrite[];
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
export function fieldsToEdit(shown: Task, wanted: TaskFields, seen?: TaskFields): {
    changes: TaskFields;
    seen: TaskFields;
} | null;
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
export const FIELDS: Field[];
export function same(a: unknown, b: unknown): boolean;
export function valueOf(fields: TaskFields, field: Field): unknown;
export type Task = import("./rest.js").Task;
export type TaskFields = import("./rest.js").TaskFields;
export type Operation = "create" | "edit" | "delete";
export type Field = "title" | "description" | "completed" | "due_date";
/**
 * One operation of a JSON Patch document (RFC 6902), as an edit sends it.
 */
export type PatchOperation = {
    op: "test" | "replace";
    path: string;
    value: unknown;
};
export type QueuedWrite = {
    /**
     * its place in the queue (given by storage)
     */
    n?: number | undefined;
    operation: Operation;
    /**
     * the task's id; for a create, chosen here (a UUID)
     */
    id: string;
    method: "PUT" | "PATCH" | "DELETE";
    /**
     * relative to the API's base URL
     */
    path: string;
    /**
     * as sent: a create's fields, an edit's patch document
     */
    body: TaskFields | PatchOperation[] | null;
    /**
     * the fields it sets, to the values wanted (a create: every field it names)
     */
    changes: TaskFields;
    /**
     * an edit: each changed field's value as shown when the edit was made; a delete: the task as shown
     */
    seen: TaskFields;
    /**
     * a delete: the version it was made on (0: a task only queued for creation)
     */
    ifMatch: number | null;
    /**
     * a create: `If-None-Match: *`
     */
    ifNoneMatch: boolean;
    /**
     * its `Idempotency-Key`, the same on every attempt
     */
    key: string;
    /**
     * the `X-Client-Id` of the tab that made it
     */
    clientId: string;
    createdAt: string;
    /**
     * how many times it was sent (its answer may have been lost)
     */
    attempts: number;
};
