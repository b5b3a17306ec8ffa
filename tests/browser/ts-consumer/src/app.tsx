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
  type Task,
  type TaskEvent,
} from "tasksync";
import { useLiveTasks, type LiveTasks } from "tasksync/react";

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
  if (error instanceof QuotaExceededError) console.warn(`You have reached the limit of ${error.limit ?? "?"} tasks`);
  else console.warn(`${write.operation} ${write.id} not saved (${why}): ${error.status}`, write.changes, error.retryAfter);
}

const store = new LiveStore(client, {
  onConflict,
  onDropped,
  onState: (state: ConnectionState, { role, code }) => console.info(state, role, code),
  onPending: (writes) => console.info(writes.length, "waiting"),
});

function describe(event: TaskEvent): string {
  // task.created | task.updated | task.deleted, in seq order
  return `${event.seq} ${event.type} ${event.task.id} from ${event.origin ?? "elsewhere"}`;
}

function Pending({ store }: { store: LiveStore }) {
  const { tasks, state, pending }: LiveTasks = useLiveTasks(store, { status: "pending", sort: "due_date", order: "asc" });
  return (
    <section data-state={state}>
      {pending > 0 && <p>{pending} changes waiting</p>}
      <ul>
        {tasks.map((task) => (
          <li key={task.id} onClick={() => void store.toggle(task.id)}>
            {task.title} {task.due_date ?? ""}
          </li>
        ))}
      </ul>
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
  // @ts-expect-error: the state is one of five names
  const state: LiveTasks["state"] = "online";
  void version;
  void state;
}

void main();
