// @ts-check
/**
 * How the tabs of one browser profile coordinate: a BroadcastChannel per API origin and
 * user for what they tell each other, and a Web Lock of the same name that exactly one
 * of them holds at a time (the socket owner, which also sends the outbox and keeps the
 * stored mirror). When the holder closes, the browser gives the lock to the next tab.
 * @module tasksync/tabs
 */

import { ConflictError, answerError } from "./errors.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./outbox.js").Outcome} Outcome */
/** @typedef {import("./answers.js").AnswerPlan} AnswerPlan */
/** @typedef {import("./live_options.js").ConnectionState} ConnectionState */

/**
 * An outcome as it crosses to another tab (errors lose their class on the way).
 * @typedef {{kind: Outcome["kind"], task?: Task | null, seq?: number | null, status?: number, message?: string, problem?: Record<string, any> | null}} WireOutcome
 */

/**
 * What tabs tell each other. `relayed` is the highest seq the leader has relayed: a
 * follower that is behind it (and not reloading) lost a relay. `outbox`: a tab queued a
 * write, maybe settling conflicts (read both again); `conflicts`: a tab settled some
 * (read them again); `settled`: the sender has the server's answer to a write and has
 * stored what it does to the queue and the conflicts (`plan`); `signout`: the user signed
 * out in one tab, so all of them close.
 * @typedef {{kind: "event", event: TaskEvent}
 *   | {kind: "resync"}
 *   | {kind: "state", state: ConnectionState, relayed: number, code?: number}
 *   | {kind: "query"}
 *   | {kind: "outbox"}
 *   | {kind: "conflicts"}
 *   | {kind: "settled", write: QueuedWrite, outcome: WireOutcome, plan: AnswerPlan}
 *   | {kind: "signout"}} Relay
 */

export class TabChannel {
  /** Whether this browser can share one socket between tabs (Web Locks and BroadcastChannel). */
  static get supported() {
    return Boolean(globalThis.navigator?.locks) && typeof BroadcastChannel === "function";
  }

  /** @param {string} scope  the API origin and user @param {(message: Relay) => void} onMessage */
  constructor(scope, onMessage) {
    this.scope = scope;
    this.channel = new BroadcastChannel(scope);
    this.channel.onmessage = (message) => {
      const relay = message.data;
      if (relay && typeof relay === "object") onMessage(relay);
    };
  }

  /** @param {Relay} message */
  post(message) {
    this.channel.postMessage(message);
  }

  /**
   * Run `lead` once this tab holds the lock, holding it until `lead` settles or `signal`
   * aborts (the tab closes its store). @param {AbortSignal} signal @param {() => Promise<void>} lead
   */
  lead(signal, lead) {
    return navigator.locks.request(this.scope, { signal }, lead);
  }

  close() {
    this.channel.close();
  }
}

/** @param {Outcome} outcome @returns {WireOutcome} */
export function toWire(outcome) {
  if (outcome.kind === "applied") return outcome;
  const { status, message, problem } = outcome.error;
  return { kind: outcome.kind, status, message, problem };
}

/** @param {WireOutcome} wire @returns {Outcome} */
export function fromWire(wire) {
  const { kind, message = "", status = 0, problem = null } = wire;
  if (kind === "applied") return { kind, task: wire.task ?? null, seq: wire.seq ?? null };
  if (kind === "conflict") {
    const error = new ConflictError(message, problem ?? {}, status === 409 ? 409 : 412);
    return { kind, current: error.current, conflicts: error.conflicts, error };
  }
  return { kind, error: answerError(status, message, problem) }; // a quota refusal stays one
}
