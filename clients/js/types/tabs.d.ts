/** @param {Outcome} outcome @returns {WireOutcome} */
export function toWire(outcome: Outcome): WireOutcome;
/** @param {WireOutcome} wire @returns {Outcome} */
export function fromWire(wire: WireOutcome): Outcome;
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
    static get supported(): boolean;
    /** @param {string} scope  the API origin and user @param {(message: Relay) => void} onMessage */
    constructor(scope: string, onMessage: (message: Relay) => void);
    scope: string;
    channel: BroadcastChannel;
    /** @param {Relay} message */
    post(message: Relay): void;
    /**
     * Run `lead` once this tab holds the lock, holding it until `lead` settles or `signal`
     * aborts (the tab closes its store). @param {AbortSignal} signal @param {() => Promise<void>} lead
     */
    lead(signal: AbortSignal, lead: () => Promise<void>): Promise<Promise<void>>;
    close(): void;
}
export type Task = import("./rest.js").Task;
export type TaskEvent = import("./rest.js").TaskEvent;
export type QueuedWrite = import("./writes.js").QueuedWrite;
export type Outcome = import("./outbox.js").Outcome;
export type AnswerPlan = import("./answers.js").AnswerPlan;
export type ConnectionState = import("./live_options.js").ConnectionState;
/**
 * An outcome as it crosses to another tab (errors lose their class on the way).
 */
export type WireOutcome = {
    kind: Outcome["kind"];
    task?: Task | null;
    seq?: number | null;
    status?: number;
    message?: string;
    problem?: Record<string, any> | null;
};
/**
 * What tabs tell each other. `relayed` is the highest seq the leader has relayed: a
 * follower that is behind it (and not reloading) lost a relay. `outbox`: a tab queued a
 * write, maybe settling conflicts (read both again); `conflicts`: a tab settled some
 * (read them again); `settled`: the sender has the server's answer to a write and has
 * stored what it does to the queue and the conflicts (`plan`); `signout`: the user signed
 * out in one tab, so all of them close.
 */
export type Relay = {
    kind: "event";
    event: TaskEvent;
} | {
    kind: "resync";
} | {
    kind: "state";
    state: ConnectionState;
    relayed: number;
    code?: number;
} | {
    kind: "query";
} | {
    kind: "outbox";
} | {
    kind: "conflicts";
} | {
    kind: "settled";
    write: QueuedWrite;
    outcome: WireOutcome;
    plan: AnswerPlan;
} | {
    kind: "signout";
};
