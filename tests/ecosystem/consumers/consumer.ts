// A small typed REST client written against the types openapi-typescript generates from
// /openapi.json (`./schema` is generated next to this file by the test). It must compile
// with `tsc --noEmit --strict`: a renamed or retyped member, operation or status breaks it.
import type { components, operations, paths } from "./schema";

type Task = components["schemas"]["Task"];
type TaskInput = components["schemas"]["TaskInput"];
type TaskPatch = components["schemas"]["TaskPatch"];
type TaskList = operations["listTasks"]["responses"][200]["content"]["application/json"];
type Problem = components["schemas"]["Problem"];
type ListQuery = NonNullable<operations["listTasks"]["parameters"]["query"]>;
type Created = paths["/api/tasks"]["post"]["responses"][201]["content"]["application/json"];
type Patched = paths["/api/tasks/{task_id}"]["patch"]["responses"][200]["content"]["application/json"];
type ChangeEvent = components["schemas"]["ChangeEvent"];

export class Tasks {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) {
      const problem = (await response.json()) as Problem;
      throw new Error(`${problem.status} ${problem.title}: ${problem.detail}`);
    }
    return (await response.json()) as T;
  }

  list(query: ListQuery = {}): Promise<TaskList> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) params.set(name, String(value));
    return this.call<TaskList>("GET", `/api/tasks?${params}`);
  }

  create(fields: TaskInput): Promise<Created> {
    return this.call<Created>("POST", "/api/tasks", fields);
  }

  patch(task: Task, patch: TaskPatch): Promise<Patched> {
    return this.call<Patched>("PATCH", `/api/tasks/${encodeURIComponent(task.id)}`, patch, {
      "If-Match": `"${task.version}"`,
    });
  }
}

export async function example(tasks: Tasks): Promise<string[]> {
  const created: Task = await tasks.create({ title: "Write the report", due_date: "2026-12-01" });
  const done: Task = await tasks.patch(created, { completed: true, description: null });
  const page = await tasks.list({ status: "completed", sort: "due_date", order: "asc", limit: 50 });
  const next: string | null = page.next_cursor;
  const seq: number = page.seq;
  const titles = page.items.map((task) => `${task.title} (v${task.version}, due ${task.due_date ?? "never"})`);
  return [done.updated_at, String(seq), next ?? "", ...titles];
}

export function describe(event: ChangeEvent): string {
  const kind: "task.created" | "task.updated" | "task.deleted" = event.type;
  return `${event.seq} ${kind} ${event.task.id} v${event.task.version}`;
}

// The generated types are strict, not `any`: each of these must stay an error.
// @ts-expect-error a title is a string
export const badTitle: TaskInput = { title: 42 };
// @ts-expect-error no such status filter
export const badFilter: ListQuery = { status: "archived" };
// @ts-expect-error a task has no `name`
export const badMember = (task: Task): string => task.name;
