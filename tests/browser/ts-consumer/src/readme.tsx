// The React section of clients/js/README.md, as it is there: every line of it compiles.
import { useEffect } from "react";
import { LiveStore, TasksyncClient } from "tasksync";
import { useLiveTasks, useTask } from "tasksync/react";

const client = new TasksyncClient({
  baseUrl: "https://api.example.com", // this page's origin must be in the API's CORS_ORIGINS
  token: async () => sessionStorage.getItem("token"), // or your auth client's token
});
export const store = new LiveStore(client);

export function PendingTasks() {
  useEffect(() => {
    store.start().catch(() => {}); // `error` below says why
    return () => store.close();
  }, []);
  const { tasks, isLoading, error, pending, isPending } = useLiveTasks(store, {
    status: "pending",
    sort: "due_date",
    order: "asc",
  });
  if (error && isLoading) return <p role="alert">Cannot load the tasks: {error.message}</p>;
  if (isLoading) return <p>Loading…</p>;
  return (
    <section>
      {pending > 0 && <p>{pending} changes waiting</p>}
      <ul>
        {tasks.map((task) => (
          <li key={task.id} aria-busy={isPending(task.id)} onClick={() => void store.toggle(task.id)}>
            {task.title}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function TaskTitle({ id }: { id: string }) {
  const { task, isPending, conflicts } = useTask(store, id);
  if (!task) return null; // loading, deleted, or never here
  return (
    <h2 aria-busy={isPending}>
      {task.title}
      {conflicts.map((conflict) => (
        <button key={conflict.key} onClick={() => void store.useMine(conflict)}>
          Keep my {conflict.field ?? "delete"}
        </button>
      ))}
    </h2>
  );
}
