import { useEffect, useState, type FormEvent } from "react";
import type { Conflict, Task } from "tasksync";
import { useLiveTasks } from "tasksync/react";
import { signedIn, store } from "./store";

export function App() {
  useEffect(() => {
    if (!signedIn) return;
    store.start().catch(() => {}); // `error` from useLiveTasks says why
    return () => store.close();
  }, []);
  const { tasks, isLoading, error, state, pending, isPending, conflicts } = useLiveTasks(store, {
    sort: "created",
    order: "asc",
  });

  if (!signedIn) return <p role="alert">Not signed in: see the README (window.tasksyncToken).</p>;
  return (
    <main id="app" data-state={state} data-pending={pending}>
      <header>
        <h1>Tasks</h1>
        <span id="state">{state}</span>
        {pending > 0 && (
          <span id="waiting">
            {state === "live" ? "Saving" : "Offline —"} {pending} {pending === 1 ? "change" : "changes"} waiting
          </span>
        )}
      </header>
      {error && <p role="alert">{isLoading ? "Cannot load the tasks" : "Not up to date"}: {error.message}</p>}
      <AddTask />
      {conflicts.length > 0 && <Conflicts conflicts={conflicts} />}
      {isLoading ? (
        <p>Loading…</p>
      ) : (
        <ul id="tasks">
          {tasks.map((task) => (
            <TaskRow key={task.id} task={task} pending={isPending(task.id)} />
          ))}
        </ul>
      )}
    </main>
  );
}

function AddTask() {
  const [title, setTitle] = useState("");
  const add = (event: FormEvent) => {
    event.preventDefault();
    if (!title.trim()) return;
    void store.create({ title: title.trim() }); // shown at once; sent when the server can be reached
    setTitle("");
  };
  return (
    <form id="add" onSubmit={add}>
      <input aria-label="New task" placeholder="New task" value={title} onChange={(e) => setTitle(e.target.value)} />
      <button>Add</button>
    </form>
  );
}

function TaskRow({ task, pending }: { task: Task; pending: boolean }) {
  // The title when editing began: the store tests the edit against it, so a rename made
  // elsewhere meanwhile is a conflict to settle, not silently overwritten.
  const [seen, setSeen] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const save = (event: FormEvent) => {
    event.preventDefault();
    if (seen !== null && draft.trim() && draft.trim() !== seen) {
      void store.update(task.id, { title: draft.trim() }, { seen: { title: seen } });
    }
    setSeen(null);
  };
  return (
    <li data-id={task.id} aria-busy={pending}>
      <input
        type="checkbox"
        aria-label="Done"
        checked={task.completed}
        onChange={(e) => void store.complete(task.id, e.target.checked)}
      />
      {seen === null ? (
        <>
          <span className="title">{task.title}</span>
          <button
            onClick={() => {
              setSeen(task.title);
              setDraft(task.title);
            }}
          >
            Rename
          </button>
        </>
      ) : (
        <form className="rename" onSubmit={save}>
          <input aria-label="Title" autoFocus value={draft} onChange={(e) => setDraft(e.target.value)} />
          <button>Save</button>
        </form>
      )}
      <button onClick={() => void store.remove(task.id)}>Delete</button>
      {pending && <span className="pending">not saved yet</span>}
    </li>
  );
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object" && "title" in value) return `“${String(value.title)}”`;
  return typeof value === "string" ? `“${value}”` : String(value);
}

function Conflicts({ conflicts }: { conflicts: readonly Conflict[] }) {
  return (
    <section id="conflicts">
      <h2>Changed on another device</h2>
      <ul>
        {conflicts.map((conflict) => (
          <li key={conflict.key} data-key={conflict.key}>
            {conflict.field === null
              ? `You deleted a task that changed elsewhere: ${show(conflict.server)}`
              : `${conflict.field}: you had ${show(conflict.seen)}, you chose ${show(conflict.wanted)}, the other device has ${show(conflict.server)}`}{" "}
            <button onClick={() => void store.keepTheirs(conflict)}>Keep theirs</button>
            <button onClick={() => void store.useMine(conflict)}>Use mine</button>
          </li>
        ))}
      </ul>
    </section>
  );
}
