// @ts-check
/**
 * One tab of a conformance device: a `LiveStore` on the module the server serves at
 * `/client/`, driven by tests/conformance/drivers/browser_driver.py through
 * `page.evaluate`. Every answer is plain JSON (tasks, conflicts and reports as the
 * scenario files spell them), so the Python side compares them like the Python
 * client's.
 */

import { LiveStore, TasksyncClient } from "/client/tasksync.js";

/** @param {unknown} value @returns {any} */
function plain(value) {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/** @param {any} conflict */
function conflictRecord(conflict) {
  return {
    key: conflict.key,
    task_id: conflict.taskId,
    field: conflict.field ?? null,
    seen: plain(conflict.seen),
    wanted: plain(conflict.wanted),
    server: plain(conflict.server),
  };
}

/**
 * What `onDropped` was told, as `{task_id, reason}`: the documented report is the
 * queued write and its reason; both spellings of the task id a write record may use
 * are read, so a record of another shape shows up as a mismatch, not a crash.
 * @param {any[]} args
 */
function droppedRecord(args) {
  const [first, second] = args;
  const write = first?.write ?? first;
  return {
    task_id: first?.taskId ?? write?.taskId ?? write?.id ?? null,
    reason: first?.reason ?? second?.reason ?? (typeof second === "string" ? second : null),
  };
}

/** @param {string} token */
export async function openDevice(token) {
  /** @type {object[]} */
  const reported = [];
  /** @type {object[]} */
  const dropped = [];
  /** @type {string[]} */
  const errors = [];
  const client = new TasksyncClient({ token, baseUrl: location.origin });
  const store = new LiveStore(client, {
    onConflict: (/** @type {any} */ conflict) => reported.push(conflictRecord(conflict)),
    onDropped: (/** @type {any[]} */ ...args) => dropped.push(droppedRecord(args)),
    onError: (/** @type {Error} */ error) => errors.push(String(error)),
  });
  await store.start();
  const device = {
    store,
    /** @param {any} fields */
    async create(fields) {
      const task = await store.create(fields);
      return task.id;
    },
    /** @param {string} id @param {any} fields */
    async update(id, fields) {
      await store.update(id, fields);
    },
    /** @param {string} id @param {any} fields */
    async replace(id, fields) {
      await store.replace(id, fields);
    },
    /** @param {string} id @param {boolean} completed */
    async complete(id, completed) {
      await store.complete(id, completed);
    },
    /** @param {string} id */
    async delete(id) {
      await store.delete(id);
    },
    /** @param {string} key */
    async keepTheirs(key) {
      await store.keepTheirs(key);
    },
    /** @param {string} key */
    async useMine(key) {
      await store.useMine(key);
    },
    /** @param {number} ms */
    async flushed(ms) {
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not flushed within ${ms} ms`)), ms);
      });
      try {
        await Promise.race([store.flushed(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    state() {
      return {
        tasks: Object.fromEntries([...store.tasks.values()].map((task) => [task.id, plain(task)])),
        conflicts: [...(store.conflicts ?? [])].map(conflictRecord),
        reported: plain(reported),
        dropped: plain(dropped),
        errors: [...errors],
        seq: store.seq,
        pending: store.pending.map((write) => ({ operation: write.operation, task_id: write.id })),
        connected: store.state === "live",
        role: store.role ?? null,
      };
    },
  };
  // @ts-ignore: the driver reaches the device through the page's global scope
  window.device = device;
  return true;
}
