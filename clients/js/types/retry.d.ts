/** Exponential backoff with jitter: a random delay in the upper half of the step. */
export function backoff(attempt: number): number;
/**
 * How long to wait before trying again after `attempt` failures: the backoff (at most
 * `maxMs`), or, when the server named a wait (a `429`'s or `503`'s `Retry-After`, in
 * seconds), that wait plus the backoff as jitter: never sooner than the server said,
 * and a fleet of clients refused at once does not come back at once.
 * @param {number} attempt @param {number | null | undefined} serverWait  seconds
 * @param {number} [maxMs]
 */
export function retryDelay(attempt: number, serverWait: number | null | undefined, maxMs?: number): number;
export function sleep(ms: number): Promise<any>;
