"""A typed program using tasksync_client as an application would; the suite checks it
with `mypy --strict` against the installed package (its `py.typed`)."""

from __future__ import annotations

import asyncio
from datetime import date

from tasksync_client import (
    Change,
    Conflict,
    Dropped,
    EditConflict,
    LiveTasks,
    PreconditionFailed,
    StoreClosedError,
    Task,
    TasksyncClient,
    is_retryable,
)


def on_conflict(conflict: Conflict) -> None:
    field: str | None = conflict.field
    print(conflict.key, conflict.task_id, field, conflict.seen, conflict.wanted, conflict.server)


def on_dropped(dropped: Dropped) -> None:
    print(dropped.reason, dropped.write.task_id, dropped.write.changes)


async def main(token: str) -> int:
    async with TasksyncClient("http://127.0.0.1:8000", token) as client:
        task: Task = await client.create("Buy milk", due_date=date(2026, 12, 1))
        try:
            await client.replace(task.id, title="Buy oat milk", if_match=task.version + 1)
        except PreconditionFailed as exc:
            print("changed elsewhere:", exc.current)
        task = await client.update(task, description="2 litres", if_match=task)
        task = await client.complete(task, if_match=task)
        try:
            await client.update_fields(task, {"title": "Buy oat milk"}, seen={"title": "Buy milk"})
        except EditConflict as exc:
            print([(each.field, each.expected, each.actual) for each in exc.conflicts], exc.current)
        async with LiveTasks(
            client, store="tasks.sqlite", on_conflict=on_conflict, on_dropped=on_dropped
        ) as live:
            queued: Task = await live.create("Buy bread")
            done: Task = await live.complete(queued.id, completed=True)
            for conflict in live.conflicts:
                if conflict.field == "title":
                    mine: Task | None = await live.use_mine(conflict)
                    print(mine, done)
                else:
                    await live.keep_theirs(conflict.key)
            titles: list[str] = sorted(t.title for t in live.tasks.values())
            waiting: int = len(live.pending)
            await live.delete(done)
            await live.flushed(timeout=10)
            async for change in live.changes():
                seen: Change = change
                print(seen.type, titles, waiting)
                break
    try:
        await live.create("after close")
    except StoreClosedError:
        pass
    return 0


def retry(exc: BaseException) -> bool:
    return is_retryable(exc)


if __name__ == "__main__":
    asyncio.run(main("token"))
