// @ts-check
/**
 * The ordering rules of the sync protocol, apart from any transport: a snapshot and its
 * `seq`, then events applied strictly in order. An event at or below `seq` is skipped;
 * one past a gap triggers a reload of the snapshot, after which the events that arrived
 * meanwhile are applied. `LiveStore` feeds it from the socket or from the leader tab.
 * @module tasksync/mirror
 */

import { AuthError, TasksyncError } from "./errors.js";
import { retryDelay } from "./retry.js";

/** @typedef {import("./rest.js").Task} Task */
/** @typedef {import("./rest.js").TaskEvent} TaskEvent */
/** @typedef {import("./rest.js").TasksyncClient} TasksyncClient */

/**
 * What `onChange` is told. `echo` is true for this tab's own writes only (their answers
 * and the events they caused), never for another tab's; `type: "snapshot"` means the
 * whole set was reloaded (or restored from storage), `type: "outbox"` that writes were
 * queued or settled, `type: "conflicts"` that conflicts came or went.
 * @typedef {object} Change
 * @property {"snapshot" | "outbox" | "conflicts" | "task.created" | "task.updated" | "task.deleted"} type
 * @property {string | null} id  the task's id (null for a snapshot)
 * @property {Task | null} task  the task as it is now (null when deleted, or for a snapshot)
 * @property {boolean} echo
 * @property {number} seq
 */

/**
 * @typedef {object} MirrorHooks
 * @property {(change: Change) => void} onChange
 * @property {(info: {reason: string, seq: number, count: number}) => void} onResync
 * @property {() => void} onSyncing  a reload started or ended (see `syncing`)
 * @property {(error: unknown) => void} onError
 * @property {(ms: number, atLeast?: number) => Promise<void>} pause  waits before a retry; may end early, never within `atLeast` ms
 */

export class TaskMirror {
  /** @param {TasksyncClient} client @param {MirrorHooks} hooks */
  constructor(client, hooks) {
    this.client = client;
    this.hooks = hooks;
    /** @type {Map<string, Task>} */
    this.tasks = new Map();
    /** The seq of the last event applied (or of the snapshot). */
    this.seq = 0;
    /** Events that arrived while a snapshot was loading. @type {TaskEvent[]} */
    this.pending = [];
    /** The reload in progress, if any. @type {Promise<void> | null} */
    this.syncing = null;
    this.syncReason = "";
    /** Ids this tab deleted, until their delete event: an older update must not revive them. */
    this.deleted = new Set();
    this.closed = false;
  }

  /**
   * Start from a stored mirror instead of a snapshot: the events after `seq` bring it
   * up to date. @param {Task[]} tasks @param {number} seq
   */
  restore(tasks, seq) {
    this.tasks = new Map(tasks.map((task) => [task.id, task]));
    this.seq = seq;
    this.hooks.onChange({ type: "snapshot", id: null, task: null, echo: false, seq });
  }

  /** An event from the socket or from the leader tab. @param {TaskEvent} event */
  receive(event) {
    if (this.syncing) {
      this.pending.push(event);
    } else if (event.seq === this.seq + 1) {
      this.apply(event);
    } else if (event.seq > this.seq) {
      this.pending.push(event);
      void this.resync("gap");
    }
  }

  /** @param {TaskEvent} event */
  apply(event) {
    this.seq = event.seq;
    const { id } = event.task;
    if (event.type === "task.deleted") {
      this.deleted.delete(id);
      this.tasks.delete(id);
    } else {
      const known = this.tasks.get(id);
      // A write's response may already have brought a newer version.
      if (this.deleted.has(id) || (known && known.version > event.task.version)) return;
      this.tasks.set(id, event.task);
    }
    const task = event.type === "task.deleted" ? null : event.task;
    this.hooks.onChange({ type: event.type, id, task, echo: event.origin === this.client.clientId, seq: event.seq });
  }

  /**
   * A task as a write's answer (or a conflict) returned it: newer versions win.
   * @param {Task} task @param {{echo: boolean}} how  `echo`: the answer to this tab's own write
   */
  applyWrite(task, { echo }) {
    const known = this.tasks.get(task.id);
    if (this.deleted.has(task.id) || (known && known.version >= task.version)) return;
    this.tasks.set(task.id, task);
    this.hooks.onChange({ type: known ? "task.updated" : "task.created", id: task.id, task, echo, seq: this.seq });
  }

  /**
   * A task that is gone (deleted by this device, or found missing by a write).
   * @param {string} id @param {{mine: boolean, echo: boolean}} how  `mine`: deleted by a
   * write of this device (an older update must not revive it); `echo`: of this tab
   */
  forget(id, { mine, echo }) {
    if (mine) this.deleted.add(id);
    if (this.tasks.delete(id)) this.hooks.onChange({ type: "task.deleted", id, task: null, echo, seq: this.seq });
  }

  /**
   * Reload the snapshot, then apply the events that arrived meanwhile; one reload at a
   * time. A transient failure is retried with backoff; a fatal one (signed out) is
   * reported, or rejects the first load.
   * @param {string} reason  "initial", "gap", "server" (the server said resync), …
   */
  resync(reason) {
    if (!this.syncing) {
      this.syncReason = reason;
      this.syncing = this.load(reason).finally(() => {
        this.syncing = null;
        this.hooks.onSyncing();
      });
      this.hooks.onSyncing();
    }
    return this.syncing;
  }

  /** @param {string} reason */
  async load(reason) {
    for (let failures = 0; !this.closed; ) {
      try {
        const snapshot = await this.client.listAll();
        this.tasks = new Map(snapshot.items.map((task) => [task.id, task]));
        this.seq = snapshot.seq;
        this.deleted.clear();
        if (this.drainPending()) break;
        // An event is missing between the snapshot and the buffered ones: load a newer one.
      } catch (error) {
        if (error instanceof AuthError || !(error instanceof TasksyncError && error.retryable)) {
          // The first load's failure is `start()`'s to report (it rejects with it).
          if (reason === "initial") throw error;
          this.hooks.onError(error);
          return;
        }
        const wait = error.retryAfter; // a 429 or a 503 said when to come back
        await this.hooks.pause(retryDelay(failures++, wait), (wait ?? 0) * 1000);
      }
    }
    this.hooks.onChange({ type: "snapshot", id: null, task: null, echo: false, seq: this.seq });
    if (reason !== "initial") this.hooks.onResync({ reason, seq: this.seq, count: this.tasks.size });
  }

  /** Apply the buffered events after the snapshot; false if one is missing. */
  drainPending() {
    const pending = this.pending.sort((a, b) => a.seq - b.seq);
    this.pending = [];
    for (const [i, event] of pending.entries()) {
      if (event.seq <= this.seq) continue;
      if (event.seq !== this.seq + 1) {
        this.pending = pending.slice(i);
        return false;
      }
      this.apply(event);
    }
    return true;
  }
}

/** Which tasks a list shows: every one, the ones not completed, the completed ones. @typedef {"all" | "pending" | "completed"} TaskStatus */
/** What a list is ordered by (ties in creation order). @typedef {"created" | "title" | "due_date"} TaskSort */
/** @typedef {"asc" | "desc"} SortOrder */

/**
 * Which tasks a list shows, in which order (the server's list parameters).
 * @typedef {{status?: TaskStatus, sort?: TaskSort, order?: SortOrder}} TaskQuery
 */

/**
 * Filter and order tasks as the server's list does, with its defaults (`status=all`,
 * `sort=created`, `order=desc`): `title` case-insensitively, tasks without a `due_date`
 * last in either order, ties in creation order (oldest first).
 * @param {Iterable<Task>} tasks
 * @param {TaskQuery} [query]
 * @returns {Task[]}
 */
export function sortTasks(tasks, { status = "all", sort = "created", order = "desc" } = {}) {
  const sign = order === "desc" ? -1 : 1;
  const collator = new Intl.Collator(undefined, { sensitivity: "base" });
  /** @type {(a: Task, b: Task) => number} */
  const created = (a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : 1);
  /** @type {(a: Task, b: Task) => number} */
  const dueDate = (a, b) => {
    if (a.due_date === b.due_date) return created(a, b);
    if (a.due_date === null || b.due_date === null) return a.due_date === null ? 1 : -1;
    return sign * (a.due_date < b.due_date ? -1 : 1);
  };
  /** @type {Record<string, (a: Task, b: Task) => number>} */
  const compare = {
    created: (a, b) => sign * created(a, b),
    title: (a, b) => sign * collator.compare(a.title, b.title) || created(a, b),
    due_date: dueDate,
  };
  const wanted = status === "all" ? null : status === "completed";
  return [...tasks].filter((t) => wanted === null || t.completed === wanted).sort(compare[sort]);
}
