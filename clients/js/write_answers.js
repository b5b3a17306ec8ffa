// @ts-check
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
  constructor() {
    /** @type {Map<number, Waiter>} */
    this.waiting = new Map();
  }

  /**
   * Wait for the answer to `write`. Called as soon as the write is queued: before any
   * answer can arrive, which takes a network round trip at least.
   * @param {QueuedWrite} write
   */
  expect(write) {
    if (write.n === undefined) return;
    /** @type {(answer: WriteAnswer) => void} */
    let resolve = () => {};
    const answer = new Promise((done) => (resolve = done));
    this.waiting.set(write.n, { answer: /** @type {Promise<WriteAnswer>} */ (answer), resolve, conflicts: [] });
  }

  /**
   * The answer to a write queued here, once the server has given it (`closed` if this
   * store closed first). @param {QueuedWrite} write @returns {Promise<WriteAnswer>}
   */
  to(write) {
    const waiter = write.n === undefined ? undefined : this.waiting.get(write.n);
    return waiter?.answer ?? Promise.resolve({ status: "closed" });
  }

  /**
   * The server answered `write`: settle what `plan` decided.
   * @param {QueuedWrite} write @param {Outcome} outcome @param {AnswerPlan} plan
   * @param {{conflicts: Conflict[], dropped: DroppedWrite[], task: (id: string) => Task | null}} shown
   *   the new conflicts as listed (with the server's value) and the dropped writes as reported
   */
  answer(write, outcome, plan, shown) {
    if (this.waiting.size === 0) return;
    const removed = new Set(plan.remove);
    for (const [n, waiter] of [...this.waiting]) {
      const dropped = shown.dropped.find((d) => d.n === n);
      if (dropped) {
        this.finish(n, { status: "dropped", write: dropped, error: dropped.error });
        continue;
      }
      const answered = n === write.n;
      if (!answered && !removed.has(n)) continue;
      // A conflict now, or folded into one (a later edit of the same field).
      const raised = shown.conflicts.filter((conflict) => conflict.taskId === write.id);
      const conflicts = [...waiter.conflicts, ...raised];
      if (!removed.has(n)) {
        // Sent again with the fields whose tests held: the answer to those is still to come.
        waiter.conflicts = conflicts;
      } else if (conflicts.length) {
        this.finish(n, { status: "conflict", conflicts });
      } else {
        const task = answered && outcome.kind === "applied" ? outcome.task : shown.task(write.id);
        this.finish(n, { status: "applied", task: task ?? null });
      }
    }
  }

  /** The store closed: nothing more will be heard here. */
  close() {
    for (const n of [...this.waiting.keys()]) this.finish(n, { status: "closed" });
  }

  /** @param {number} n @param {WriteAnswer} answer */
  finish(n, answer) {
    this.waiting.get(n)?.resolve(answer);
    this.waiting.delete(n);
  }
}
