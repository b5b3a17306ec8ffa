/** @param {Response} response @param {string} what */
export function errorFrom(response: Response, what: string): Promise<TasksyncError>;
/**
 * The error for an answer of the API (also rebuilt from one relayed by another tab).
 * @param {number} status @param {string} message @param {Record<string, any> | null} problem
 * @param {number | null} [retryAfter]
 * @returns {TasksyncError}
 */
export function answerError(status: number, message: string, problem: Record<string, any> | null, retryAfter?: number | null): TasksyncError;
/**
 * The errors of the Tasksync browser client: `TasksyncError` for any answer of the API
 * (or the network) that is not a success, and its subclasses `AuthError`,
 * `ConflictError` and `QuotaExceededError`; `StoreClosedError` for a write through a
 * `LiveStore` that cannot send it. `errorFrom` builds the right one from a response,
 * `answerError` from its parts (also when another tab relays them).
 * @module tasksync/errors
 */
/** @typedef {import("./rest.js").Task} Task */
/** An error the API (or the network) answered with; `problem` is the RFC 9457 body. */
export class TasksyncError extends Error {
    /**
     * @param {string} message
     * @param {{status?: number, problem?: Record<string, any> | null, cause?: unknown, retryAfter?: number | null}} [details]
     */
    constructor(message: string, { status, problem, cause, retryAfter }?: {
        status?: number;
        problem?: Record<string, any> | null;
        cause?: unknown;
        retryAfter?: number | null;
    });
    /** `0` when the server could not be reached. */
    status: number;
    problem: Record<string, any> | null;
    /**
     * The seconds the server asked to wait before trying again (`Retry-After` of a
     * `429` over a rate limit, or a `503` while its database is away), if it said.
     * @type {number | null}
     */
    retryAfter: number | null;
    /** Whether trying again later may succeed (network errors, 408, 429, 5xx). */
    get retryable(): boolean;
}
/** `401`, or a token provider that returned nothing: the user must sign in again. */
export class AuthError extends TasksyncError {
    /** @param {string} message @param {{status?: number, problem?: Record<string, any> | null}} [details] */
    constructor(message: string, details?: {
        status?: number;
        problem?: Record<string, any> | null;
    });
}
/**
 * The task is not as the write expected: `412`, it changed since the version the write
 * named (`If-Match`); `409`, a JSON Patch `test` failed, and `conflicts` lists each
 * failed one (`path`, the `expected` value, the `actual` one). `current` is the task now.
 */
export class ConflictError extends TasksyncError {
    /** @param {string} message @param {Record<string, any>} problem @param {409 | 412} [status] */
    constructor(message: string, problem: Record<string, any>, status?: 409 | 412);
    /** @type {Task} */
    current: Task;
    /** @type {{path: string, expected: unknown, actual: unknown}[]} */
    conflicts: {
        path: string;
        expected: unknown;
        actual: unknown;
    }[];
}
/**
 * A write through a `LiveStore` that cannot send it: not started, closed, or signed out
 * (also in another tab). Nothing was queued.
 */
export class StoreClosedError extends TasksyncError {
    /** @param {string} message */
    constructor(message: string);
}
/**
 * `403` with a problem whose `type` ends in `quota-exceeded`: the user holds as many
 * tasks as allowed (`limit`); a create succeeds again once one is deleted.
 */
export class QuotaExceededError extends TasksyncError {
    /** @param {string} message @param {Record<string, any>} problem */
    constructor(message: string, problem: Record<string, any>);
    /** The most tasks the user may hold. @type {number | null} */
    limit: number | null;
}
export type Task = import("./rest.js").Task;
