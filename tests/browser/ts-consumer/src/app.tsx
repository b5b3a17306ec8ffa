// A TypeScript + React app using the packed `tasksync` package as a project would:
// compiled with `tsc --noEmit --strict`. Every `@ts-expect-error` checks that a type is
// really there (an `any` would make it unused, and tsc fails on that).
import { createRoot } from "react-dom/client";
import {
  LiveStore,
  QuotaExceededError,
  StoreClosedError,
  TasksyncClient,
  TasksyncError,
  type Conflict,
  type ConnectionState,
  type DroppedWrite,
  type Operation,
  type QueuedWrite,
  type SortOrder,
  type Task,
  type TaskEvent,
  type TaskSort,
  type TaskStatus,
} from "tasksync";
import { useLiveTasks, useTask, type LiveTask, type LiveTasks } from "tasksync/react";

const client = new TasksyncClient({
  baseUrl: "https://api.example.com",
  token: async () => sessionStorage.getItem("token"),
});

function onConflict(conflict: Conflict): void {
  if (conflict.field === null) {
    // A delete refused: `server` is the whole task as it is now.
    const now: Task = conflict.server;
    console.warn(`“${now.title}” was changed elsewhere, so it was not deleted`, conflict.seen?.version);
  } else {
    const wanted: string | boolean | null = conflict.wanted;
    console.warn(`${conflict.key}: you had ${conflict.seen}, chose ${wanted}, the server has ${conflict.server}`);
  }
}

function onDropped(write: DroppedWrite, error: TasksyncError): void {
  const why: "missing" | "rejected" = write.reason;
  const operation: Operation = write.operation;
  // @ts-expect-error: a queued write is a create, an edit or a delete
  const replaced: Operation = "replace";
  void operation;
  void replaced;
  if (error instanceof QuotaExceededError) console.warn(`You have reached the limit of ${error.limit ?? "?"} tasks`);
  else console.warn(`${write.operation} ${write.id} not saved (${why}): ${error.status}`, write.changes, error.retryAfter);
}

const store = new LiveStore(client, {
  startTimeout: 10_000,
  onConflict,
  onDropped,
  onState: (state: ConnectionState, { role, code }) => console.info(state, role, code),
  onPending: (writes) => console.info(writes.length, "waiting"),
});

function describe(event: TaskEvent): string {
  // task.created | task.updated | task.deleted, in seq order
  const head = `${event.seq} ${event.type} ${event.task.id} from ${event.origin ?? "elsewhere"}`;
  switch (event.type) {
    case "task.created":
      return `${head}: ${event.task.title}`;
    case "task.updated":
      return `${head}: ${event.changed.join(", ")} now ${event.task.title}`;
    case "task.deleted":
      // @ts-expect-error: a deleted task is only its id and version
      return `${head}: ${event.task.title}`;
  }
}

function Detail({ store, id }: { store: LiveStore; id: string }) {
  const { task, isPending, conflicts }: LiveTask = useTask(store, id);
  // @ts-expect-error: the task is undefined while loading, or when there is none
  const shown: Task = task;
  void shown;
  return task ? <h2 aria-busy={isPending}>{task.title} {conflicts.length}</h2> : null;
}

function Pending({ store }: { store: LiveStore }) {
  const { tasks, state, pending, isLoading, error, isPending, conflicts, dropped }: LiveTasks = useLiveTasks(store, {
    status: "pending",
    sort: "due_date",
    order: "asc",
  });
  if (error) return <p role="alert">{error.message}</p>;
  if (isLoading) return <p>Loading…</p>;
  return (
    <section data-state={state} data-conflicts={conflicts.length} data-dropped={dropped.length}>
      {pending.length > 0 && <p>{pending.length} changes waiting</p>}
      <ul>
        {tasks.map((task) => (
          <li key={task.id} aria-busy={isPending(task.id)} onClick={() => void store.complete(task.id, !task.completed)}>
            {task.title} {task.due_date ?? ""}
          </li>
        ))}
      </ul>
      {tasks[0] && <Detail store={store} id={tasks[0].id} />}
    </section>
  );
}

async function main(): Promise<void> {
  await store.start();
  const task: Task = await store.create({ title: "Buy milk", due_date: "2026-12-01" });
  await store.update(task.id, { title: "Buy oat milk" });
  await store.update(task.id, { title: "Buy soy milk" }, { seen: { title: "Buy oat milk" } });
  await store.replace(task.id, { title: "Buy milk", completed: true }, { seen: { title: "Buy soy milk" } });
  await store.complete(task.id);
  await store.complete(task.id, false);
  for (const conflict of store.conflicts) {
    if (conflict.field === "title") await store.useMine(conflict);
    else await store.keepTheirs(conflict.key);
  }
  try {
    await store.create({ title: "after close" });
  } catch (error) {
    if (error instanceof StoreClosedError) console.warn("signed out: not queued");
  }
  const done: Promise<void> = store.flushed();
  // @ts-expect-error: flushed() resolves with nothing
  const count: Promise<number> = store.flushed();
  await done;
  void count;
  const untyped = await client.request("GET", "api/tasks?limit=1");
  // @ts-expect-error: a body nobody typed is unknown, not any
  void untyped.items;
  const page = await client.list({ status: "pending", limit: 10 });
  const seq: number = page.seq;
  const feed = await client.changes(seq, { wait: 1 });
  feed.events.map(describe);
  createRoot(document.getElementById("root")!).render(<Pending store={store} />);

  // @ts-expect-error: a version is a number
  const version: string = task.version;
  // @ts-expect-error: no such status
  useLiveTasks(store, { status: "done" });
  // @ts-expect-error: a create needs a title
  await store.create({ description: "untitled" });
  // @ts-expect-error: edits are tested against the values shown, not a version
  await store.update(task.id, { title: "x" }, { ifMatch: 3 });
  // @ts-expect-error: `seen` holds field values, not a version
  await store.update(task.id, { title: "x" }, { seen: { version: 3 } });
  // @ts-expect-error: a conflict's field is one of the four editable ones, or null for a delete
  if (store.conflicts[0]?.field === "version") void 0;
  // @ts-expect-error: the state is one of six names
  const state: LiveTasks["state"] = "online";
  const before: ConnectionState = "idle";
  const status: TaskStatus = "completed";
  const sort: TaskSort = "title";
  const order: SortOrder = "desc";
  // @ts-expect-error: no such sort
  const unsorted: TaskSort = "priority";
  store.list({ status, sort, order });
  void version;
  void state;
  void before;
  void unsorted;

  // What a write became, told apart by `status`.
  const answer = await store.settled(store.update(task.id, { title: "Buy rice" }));
  if (answer.status === "applied") console.info(answer.task?.title);
  else if (answer.status === "dropped") console.warn(answer.write.reason, answer.error.status);
  else if (answer.status === "conflict") console.warn(answer.conflicts.map((c) => c.key));
  // @ts-expect-error: only a dropped write carries an error
  void answer.error;
  const dropped: readonly DroppedWrite[] = store.dropped;
  if (dropped[0]) store.dismissDropped(dropped[0]);
  await store.delete(task.id);
  const waiting: readonly QueuedWrite[] = store.pending;
  void waiting;

  // The store's machinery is private: not in its type, and not writable from outside.
  // @ts-expect-error: the mirror is internal
  void store.mirror;
  // @ts-expect-error: the outbox is internal
  void store.outbox;
  // @ts-expect-error: the listeners are internal (subscribe() is the way in)
  void store.listeners;
  // @ts-expect-error: applying an answer is internal
  void store.settle;
  // @ts-expect-error: taking over the socket is internal
  void store.lead;
  // @ts-expect-error: queuing a write without the write methods is internal
  void store.queue;
  // @ts-expect-error: the connection state is the store's to say
  store.state = "live";
  // @ts-expect-error: a tab's role is the store's to say
  store.role = "leader";
  // @ts-expect-error: the list hook's `pending` is the writes themselves, not a count
  const count: number = useLiveTasks(store).pending;
  void count;
}

void main();
