/**
 * Waiting for the server's answer to a write made through a store, so an action can be
 * awaited until the write is applied or refused (`LiveStore.settled`). Every write this
 * tab queues is expected here by its outbox number `n` (the same in every tab, so an
 * answer received by the tab that sent it and relayed here counts as well); the plan of
 * each answer (answers.js) says what became of it: applied, a conflict (now or after the
 * fields that held were sent again), or dropped. A closed store answers `closed` to
 * whatever is still waiting: the write stays queued, but this store will not hear of it.
 * @module tasksync/write_answers
 */
/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./outbox.js").Outcome} Outcome */
/** @typedef {import("./answers.js").AnswerPlan} AnswerPlan */
/** @typedef {import("./conflicts.js").Conflict} Conflict */
/** @typedef {import("./writes.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./live_options.js").DroppedWrite} DroppedWrite */
/** @typedef {import("./live_options.js").WriteAnswer} WriteAnswer */
/** @typedef {{answer: Promise<WriteAnswer>, resolve: (answer: WriteAnswer) => void, conflicts: Conflict[]}} Waiter */
export class WriteAnswers {
    /** @type {Map<number, Waiter>} */
    waiting: Map<number, Waiter>;
    /**
     * Wait for the answer to `write`. Called as soon as the write is queued: before any
     * answer can arrive, which takes a network round trip at least.
     * @param {QueuedWrite} write
     */
    expect(write: QueuedWrite): void;
    /**
     * The answer to a write queued here, once the server has given it (`closed` if this
     * store closed first). @param {QueuedWrite} write @returns {Promise<WriteAnswer>}
     */
    to(write: QueuedWrite): Promise<WriteAnswer>;
    /**
     * The server answered `write`: settle what `plan` decided.
     * @param {QueuedWrite} write @param {Outcome} outcome @param {AnswerPlan} plan
     * @param {{conflicts: Conflict[], dropped: DroppedWrite[], task: (id: string) => Task | null}} shown
     *   the new conflicts as listed (with the server's value) and the dropped writes as reported
     */
    answer(write: QueuedWrite, outcome: Outcome, plan: AnswerPlan, shown: {
        conflicts: Conflict[];
        dropped: DroppedWrite[];
        task: (id: string) => Task | null;
    }): void;
    /** The store closed: nothing more will be heard here. */
    close(): void;
    /** @param {number} n @param {WriteAnswer} answer */
    finish(n: number, answer: WriteAnswer): void;
}
export type Task = import("./rest.js").Task;
export type Outcome = import("./outbox.js").Outcome;
export type AnswerPlan = import("./answers.js").AnswerPlan;
export type Conflict = import("./conflicts.js").Conflict;
export type QueuedWrite = import("./writes.js").QueuedWrite;
export type DroppedWrite = import("./live_options.js").DroppedWrite;
export type WriteAnswer = import("./live_options.js").WriteAnswer;
export type Waiter = {
    answer: Promise<WriteAnswer>;
    resolve: (answer: WriteAnswer) => void;
    conflicts: Conflict[];
};
