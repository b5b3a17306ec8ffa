// @ts-check
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
  constructor(message, { status = 0, problem = null, cause, retryAfter = null } = {}) {
    super(message, { cause });
    this.name = "TasksyncError";
    /** `0` when the server could not be reached. */
    this.status = status;
    this.problem = problem;
    /**
     * The seconds the server asked to wait before trying again (`Retry-After` of a
     * `429` over a rate limit, or a `503` while its database is away), if it said.
     * @type {number | null}
     */
    this.retryAfter = retryAfter;
  }

  /** Whether trying again later may succeed (network errors, 408, 429, 5xx). */
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** `401`, or a token provider that returned nothing: the user must sign in again. */
export class AuthError extends TasksyncError {
  /** @param {string} message @param {{status?: number, problem?: Record<string, any> | null}} [details] */
  constructor(message, details = {}) {
    super(message, { status: 401, ...details });
    this.name = "AuthError";
  }
}

/**
 * The task is not as the write expected: `412`, it changed since the version the write
 * named (`If-Match`); `409`, a JSON Patch `test` failed, and `conflicts` lists each
 * failed one (`path`, the `expected` value, the `actual` one). `current` is the task now.
 */
export class ConflictError extends TasksyncError {
  /** @param {string} message @param {Record<string, any>} problem @param {409 | 412} [status] */
  constructor(message, problem, status = 412) {
    super(message, { status, problem });
    this.name = "ConflictError";
    /** @type {Task} */
    this.current = problem.current;
    /** @type {{path: string, expected: unknown, actual: unknown}[]} */
    this.conflicts = Array.isArray(problem.conflicts) ? problem.conflicts : [];
  }
}

/**
 * A write through a `LiveStore` that cannot send it: not started, closed, or signed out
 * (also in another tab). Nothing was queued.
 */
export class StoreClosedError extends TasksyncError {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "StoreClosedError";
  }

  /** Never: the store will not send anything again. */
  get retryable() {
    return false;
  }
}

/**
 * `403` with a problem whose `type` ends in `quota-exceeded`: the user holds as many
 * tasks as allowed (`limit`); a create succeeds again once one is deleted.
 */
export class QuotaExceededError extends TasksyncError {
  /** @param {string} message @param {Record<string, any>} problem */
  constructor(message, problem) {
    super(message, { status: 403, problem });
    this.name = "QuotaExceededError";
    /** The most tasks the user may hold. @type {number | null} */
    this.limit = typeof problem.limit === "number" ? problem.limit : null;
  }
}

/** `Retry-After` in seconds (its delta-seconds form; an HTTP date is ignored). @param {Headers} headers */
function retryAfterOf(headers) {
  const raw = headers.get("Retry-After")?.trim() ?? "";
  return /^\d{1,6}$/.test(raw) ? Number(raw) : null;
}

/** @param {Response} response @param {string} what */
export async function errorFrom(response, what) {
  /** @type {Record<string, any> | null} */
  let problem = null;
  try {
    problem = await response.json();
  } catch {
    // not JSON (a proxy's error page): the status says enough
  }
  const detail = problem?.detail ?? response.statusText;
  const message = `${what}: ${response.status} ${detail}`;
  const retryAfter = response.status === 429 || response.status === 503 ? retryAfterOf(response.headers) : null;
  return answerError(response.status, message, problem, retryAfter);
}

/**
 * The error for an answer of the API (also rebuilt from one relayed by another tab).
 * @param {number} status @param {string} message @param {Record<string, any> | null} problem
 * @param {number | null} [retryAfter]
 * @returns {TasksyncError}
 */
export function answerError(status, message, problem, retryAfter = null) {
  if ((status === 412 || status === 409) && problem?.current) return new ConflictError(message, problem, status);
  if (status === 401) return new AuthError(message, { problem });
  if (status === 403 && problem && String(problem.type ?? "").endsWith("quota-exceeded"))
    return new QuotaExceededError(message, problem);
  return new TasksyncError(message, { status, problem, retryAfter });
}
