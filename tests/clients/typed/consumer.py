"""A typed program using tasksync_client as an application would; the suite checks it
with `mypy --strict` against the installed package (its `py.typed`)."""

from __future__ import annotations

import asyncio
from datetime import date

from tasksync_client import (
    Change,
    Conflict,
    Dropped,
    LiveTasks,
    PreconditionFailed,
    Task,
    TasksyncClient,
    is_retryable,
)


def on_conflict(conflict: Conflict) -> None:
    current: Task | None = conflict.current
    print(conflict.task_id, conflict.attempted, current.version if current else None)


def on_dropped(dropped: Dropped) -> None:
    print(dropped.reason, dropped.write.task_id)


async def main(token: str) -> int:
    async with TasksyncClient("http://127.0.0.1:8000", token) as client:
        task: Task = await client.create("Buy milk", due_date=date(2026, 12, 1))
        try:
            await client.replace(task.id, title="Buy oat milk", if_match=task.version + 1)
        except PreconditionFailed as exc:
            print("changed elsewhere:", exc.current)
        async with LiveTasks(
            client, store="tasks.sqlite", on_conflict=on_conflict, on_dropped=on_dropped
        ) as live:
            queued: Task = await live.create("Buy bread")
            await live.toggle(queued)
            titles: list[str] = sorted(t.title for t in live.tasks.values())
            waiting: int = len(live.pending)
            await live.flushed(timeout=10)
            async for change in live.changes():
                seen: Change = change
                print(seen.type, titles, waiting)
                break
        return 0


def retry(exc: BaseException) -> bool:
    return is_retryable(exc)


if __name__ == "__main__":
    asyncio.run(main("token"))
