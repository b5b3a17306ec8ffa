// A TypeScript + React app using the packed `tasksync` package as a project would:
// compiled with `tsc --noEmit --strict`. Every `@ts-expect-error` checks that a type is
// really there (an `any` would make it unused, and tsc fails on that).
import { createRoot } from "react-dom/client";
import {
  ConflictError,
  LiveStore,
  QuotaExceededError,
  TasksyncClient,
  TasksyncError,
  type ConflictInfo,
  type ConnectionState,
  type QueuedWrite,
  type Task,
  type TaskEvent,
} from "tasksync";
import { useLiveTasks, type LiveTasks } from "tasksync/react";

const client = new TasksyncClient({
  baseUrl: "https://api.example.com",
  token: async () => sessionStorage.getItem("token"),
});

function onConflict(current: Task, info: ConflictInfo): void {
  const attempted: string | undefined = info.attempted?.title;
  const error: ConflictError = info.error;
  console.warn(`“${current.title}” (version ${current.version}) was changed elsewhere`, attempted, error.current.id);
}

function onDropped(write: QueuedWrite, error: TasksyncError): void {
  if (error instanceof QuotaExceededError) console.warn(`You have reached the limit of ${error.limit ?? "?"} tasks`);
  else console.warn(`${write.operation} ${write.id} not saved: ${error.status}`, error.retryAfter);
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
  // @ts-expect-error: the state is one of five names
  const state: LiveTasks["state"] = "online";
  void version;
  void state;
}

void main();
