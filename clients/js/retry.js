// @ts-check
/**
 * When to try again: exponential backoff with jitter, and a server's `Retry-After`
 * honoured on top of it. Used by the REST calls (rest.js), the outbox (outbox.js), the
 * mirror's reloads (mirror.js) and the socket's reconnects (connection.js).
 * @module tasksync/retry
 */

const RETRY_BASE_MS = 500;
const RETRY_MAX_MS = 15_000;

/** Exponential backoff with jitter: a random delay in the upper half of the step. */
export function backoff(/** @type {number} */ attempt) {
  const step = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt);
  return step / 2 + Math.random() * (step / 2);
}

/**
 * How long to wait before trying again after `attempt` failures: the backoff (at most
 * `maxMs`), or, when the server named a wait (a `429`'s or `503`'s `Retry-After`, in
 * seconds), that wait plus the backoff as jitter: never sooner than the server said,
 * and a fleet of clients refused at once does not come back at once.
 * @param {number} attempt @param {number | null | undefined} serverWait  seconds
 * @param {number} [maxMs]
 */
export function retryDelay(attempt, serverWait, maxMs = RETRY_MAX_MS) {
  const jittered = Math.min(maxMs, backoff(attempt));
  return serverWait == null ? jittered : serverWait * 1000 + jittered;
}

export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
