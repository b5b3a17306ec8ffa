/**
 * @param {QueuedWrite} write  the write that was answered
 * @param {Outcome} outcome
 * @param {QueuedWrite[]} later  the rest of the queue, oldest first
 * @returns {AnswerPlan}
 */
export function planAnswer(write: QueuedWrite, outcome: Outcome, later: QueuedWrite[]): AnswerPlan;
export type QueuedWrite = import("./writes.js").QueuedWrite;
export type Outcome = import("./outbox.js").Outcome;
export type Field = import("./writes.js").Field;
export type TaskFields = import("./rest.js").TaskFields;
export type Conflict = import("./conflicts.js").Conflict;
export type FieldConflict = import("./conflicts.js").FieldConflict;
export type AnswerPlan = {
    /**
     * queued writes to store again as changed (the head first when it is sent again)
     */
    put: QueuedWrite[];
    /**
     * queued writes that leave the queue
     */
    remove: number[];
    /**
     * new conflicts (each replaces any of its key)
     */
    conflicts: Conflict[];
    /**
     * writes dropped and to be reported, the answered one first
     */
    dropped: QueuedWrite[];
    /**
     * why they were dropped
     */
    reason: "missing" | "rejected" | null;
};
