// The provider path of `tasksync/react`, as an app would write it, compiled strictly:
// the hooks without a store argument, the actions' answers, and what must not compile.
import { useState } from "react";
import type { LiveStore, WriteAnswer } from "tasksync";
import {
  TasksyncProvider,
  useLiveTasks,
  useTask,
  useTaskActions,
  useTasksync,
  useTasksyncStatus,
  type LiveStatus,
  type LiveTask,
  type LiveTasks,
  type TaskActions,
} from "tasksync/react";

function List() {
  const { tasks, isLoading, pending, dropped, isPending }: LiveTasks = useLiveTasks({ status: "pending" });
  const { create, complete, delete: remove, dismissDropped }: TaskActions = useTaskActions();
  const status: LiveStatus = useTasksyncStatus();
  const store: LiveStore | null = useTasksync();
  const [last, setLast] = useState<WriteAnswer["status"] | null>(null);
  if (isLoading) return <p>{status.state}</p>;
  return (
    <ul data-waiting={pending.length} data-store={store?.state}>
      {tasks.map((task) => (
        <li key={task.id} aria-busy={isPending(task.id)}>
          <button onClick={() => void complete(task.id, !task.completed).then((answer) => setLast(answer.status))}>
            {task.title}
          </button>
          <button onClick={() => void remove(task.id)}>×</button>
          <Detail id={task.id} />
        </li>
      ))}
      {dropped.map((write) => (
        <li key={write.key} onClick={() => dismissDropped(write)}>
          {write.operation} {write.reason} {write.error.message}
        </li>
      ))}
      <li onClick={() => void create({ title: "New" })}>{last}</li>
    </ul>
  );
}

function Detail({ id }: { id: string }) {
  const { task, pending, conflicts, dropped, isPending }: LiveTask = useTask(id);
  // @ts-expect-error: one task's `isPending` is a flag, not a function of an id
  isPending(id);
  return (
    <span data-pending={pending.length} data-conflicts={conflicts.length} data-dropped={dropped.length}>
      {task?.title}
    </span>
  );
}

export function Root({ token }: { token: string | null }) {
  return (
    <TasksyncProvider baseUrl="https://api.example.com" token={token} options={{ onConflict: (c) => console.warn(c.key) }}>
      <List />
    </TasksyncProvider>
  );
}

// A token function cannot say whose it is: `user` does.
export const WithProvider = ({ user }: { user: string }) => (
  <TasksyncProvider token={async () => sessionStorage.getItem("token")} user={user}>
    <List />
  </TasksyncProvider>
);

// @ts-expect-error: a provider needs the token (null while nobody is signed in)
export const NoToken = () => <TasksyncProvider><List /></TasksyncProvider>;

export function Wrong() {
  const actions = useTaskActions();
  // @ts-expect-error: a create needs a title
  void actions.create({ description: "untitled" });
  // @ts-expect-error: `remove` is the store's deprecated name; the actions have `delete` only
  void actions.remove("id");
  // @ts-expect-error: an id, not a query
  useLiveTasks("id");
  return null;
}
