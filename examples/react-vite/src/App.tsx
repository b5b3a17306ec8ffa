import { useState, type FormEvent } from "react";
import type { Conflict, DroppedWrite, Task, TaskStatus } from "tasksync";
import { useLiveTasks, useTaskActions, useTasksync } from "tasksync/react";

export function App({ onSignedOut }: { onSignedOut: () => void }) {
  const [status, setStatus] = useState<TaskStatus | "all">("all");
  const { tasks, isLoading, error, state, pending, isPending, conflicts, dropped } = useLiveTasks({
    status: status === "all" ? undefined : status,
    sort: "created",
    order: "asc",
  });
  const store = useTasksync();

  if (!store) return <p role="alert">Not signed in: see the README (window.tasksyncToken).</p>;
  const signOut = async () => {
    if (pending.length && !confirm(`Discard ${pending.length} changes not yet sent?`)) return;
    await store.signOut(); // deletes what this browser stored for the user
    onSignedOut();
  };
  const waiting = pending.length;
  return (
    <main id="app" data-state={state} data-pending={waiting}>
      <header>
        <h1>Tasks</h1>
        <span id="state">{state}</span>
        {waiting > 0 && (
          <span id="waiting">
            {state === "live" ? "Saving" : "Offline —"} {waiting} {waiting === 1 ? "change" : "changes"} waiting
          </span>
        )}
        <button onClick={() => void signOut()}>Sign out</button>
      </header>
      {state === "offline" && !isLoading && <p id="offline">Offline: changes are kept and sent when the server is back.</p>}
      {error && <p role="alert">{isLoading ? "Cannot load the tasks" : "Not up to date"}: {error.message}</p>}
      <AddTask />
      <label>
        Show{" "}
        <select aria-label="Show" value={status} onChange={(e) => setStatus(e.target.value as TaskStatus | "all")}>
          <option value="all">all</option>
          <option value="pending">to do</option>
          <option value="completed">done</option>
        </select>
      </label>
      {dropped.length > 0 && <Dropped dropped={dropped} />}
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
  const { create } = useTaskActions();
  const [title, setTitle] = useState("");
  const add = (event: FormEvent) => {
    event.preventDefault();
    if (!title.trim()) return;
    void create({ title: title.trim() }); // shown at once; sent when the server can be reached
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
  const { update, complete, delete: remove } = useTaskActions();
  // The title when editing began: the store tests the edit against it, so a rename made
  // elsewhere meanwhile is a conflict to settle, not silently overwritten.
  const [seen, setSeen] = useState<string | null>(null);
  const [draft, setDraft] = useState("");
  const save = (event: FormEvent) => {
    event.preventDefault();
    if (seen !== null && draft.trim() && draft.trim() !== seen) {
      void update(task.id, { title: draft.trim() }, { seen: { title: seen } });
    }
    setSeen(null);
  };
  return (
    <li data-id={task.id} aria-busy={pending}>
      <input
        type="checkbox"
        aria-label="Done"
        checked={task.completed}
        onChange={(e) => void complete(task.id, e.target.checked)}
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
      <button onClick={() => void remove(task.id)}>Delete</button>
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
  const { keepTheirs, useMine } = useTaskActions();
  return (
    <section id="conflicts">
      <h2>Changed on another device</h2>
      <ul>
        {conflicts.map((conflict) => (
          <li key={conflict.key} data-key={conflict.key}>
            {conflict.field === null
              ? `You deleted a task that changed elsewhere: ${show(conflict.server)}`
              : `${conflict.field}: you had ${show(conflict.seen)}, you chose ${show(conflict.wanted)}, the other device has ${show(conflict.server)}`}{" "}
            <button onClick={() => void keepTheirs(conflict)}>Keep theirs</button>
            <button onClick={() => void useMine(conflict)}>Use mine</button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Dropped({ dropped }: { dropped: readonly DroppedWrite[] }) {
  const { dismissDropped } = useTaskActions();
  return (
    <section id="dropped">
      <h2>Not saved</h2>
      <ul>
        {dropped.map((write) => (
          <li key={write.key}>
            {write.operation} refused ({write.reason}): {write.error.message}{" "}
            <button onClick={() => dismissDropped(write)}>OK</button>
          </li>
        ))}
      </ul>
    </section>
  );
}
