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
export function settledBy(conflict: Conflict, confirmed: Map<string, Task>): boolean;
/** `conflict` with `server` as `confirmed` has it. @param {Conflict} conflict @param {Map<string, Task>} confirmed @returns {Conflict} */
export function withServer(conflict: Conflict, confirmed: Map<string, Task>): Conflict;
/** The conflicts as this tab last read them from storage. */
export class ConflictList {
    /** @param {TaskStorage} storage */
    constructor(storage: TaskStorage);
    storage: import("./storage.js").TaskStorage;
    /** @type {Conflict[]} */
    stored: Conflict[];
    /** Counts this tab's own changes, so a read that overlapped one is redone. */
    generation: number;
    /** Read them again (another tab changed them). */
    reload(): Promise<void>;
    /** New conflicts, already stored: each replaces any of its key. @param {Conflict[]} added */
    note(added: Conflict[]): void;
    /** The conflicts still open, as `confirmed` shows the server. @param {Map<string, Task>} confirmed */
    shown(confirmed: Map<string, Task>): Conflict[];
    /** @param {string} key */
    find(key: string): Conflict | undefined;
    /** The open conflicts of `taskId` among `fields`. @param {string} taskId @param {Iterable<string>} fields */
    keysOf(taskId: string, fields: Iterable<string>): string[];
    /** Settle conflicts: they go, from storage too. @param {string[]} keys */
    settle(keys: string[]): Promise<void>;
    /** Forget conflicts settled elsewhere (or being stored as settled). @param {string[]} keys */
    drop(keys: string[]): void;
    /**
     * Remove from storage the conflicts the server's state has settled; resolves with
     * whether any went. The check is redone inside the transaction, so a newer conflict
     * of the same key stored meanwhile stays.
     * @param {Map<string, Task>} confirmed
     */
    sweep(confirmed: Map<string, Task>): Promise<boolean>;
}
export type Task = import("./rest.js").Task;
export type Field = import("./writes.js").Field;
export type TaskStorage = import("./storage.js").TaskStorage;
/**
 * A field's value: a title or description, `completed`, a `due_date` (or none).
 */
export type FieldValue = string | boolean | null;
/**
 * A field that this device and the server disagree on: `seen` is the value the user saw,
 * `wanted` the one they chose, `server` the server's value.
 */
export type FieldConflict = {
    /**
     * `"<task id>/<field>"`
     */
    key: string;
    taskId: string;
    field: Field;
    seen: FieldValue;
    wanted: FieldValue;
    server: FieldValue;
};
/**
 * A delete the server refused: the task changed since this device saw it as `seen`;
 * `server` is the task as it is now.
 */
export type DeleteConflict = {
    /**
     * `"<task id>/delete"`
     */
    key: string;
    taskId: string;
    field: null;
    /**
     * the task as shown when the delete was made
     */
    seen: Task | null;
    /**
     * deleted
     */
    wanted: null;
    server: Task;
};
export type Conflict = FieldConflict | DeleteConflict;
