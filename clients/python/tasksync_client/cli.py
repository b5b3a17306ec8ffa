"""`tasksync-watch`: print the user's tasks, then every change as it happens.

tasksync-watch --url http://127.0.0.1:8000 --token "$(make -s token USER_ID=alice)"
TASKSYNC_TOKEN=… tasksync-watch --transport poll     # where websockets are blocked
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import TextIO

from tasksync_client.changes import Change
from tasksync_client.errors import TasksyncError
from tasksync_client.live import LiveTasks
from tasksync_client.models import Task
from tasksync_client.rest import TasksyncClient
from tasksync_client.streams import TRANSPORTS, Transport


def describe(task: Task) -> str:
    due = f"  (due {task.due_date.isoformat()})" if task.due_date else ""
    return f"[{'x' if task.completed else ' '}] {task.title}{due}  {task.id}"


def describe_change(change: Change, count: int) -> str:
    if change.type == "resync":
        return f"#{change.seq} resync: {count} tasks"
    verb = change.type.removeprefix("task.")
    what = describe(change.task) if change.task is not None else change.task_id
    origin = f"  by {change.origin}" if change.origin else ""
    return f"#{change.seq} {verb:<7} {what}{origin}"


async def watch(url: str, token: str, transport: Transport, out: TextIO = sys.stdout) -> None:
    async with TasksyncClient(url, token) as client, LiveTasks(client, transport=transport) as live:
        feed = live.changes()
        print(f"{len(live.tasks)} tasks at seq {live.seq}", file=out)
        for task in sorted(live.tasks.values(), key=lambda t: t.created_at):
            print(describe(task), file=out)
        out.flush()
        async for change in feed:
            print(describe_change(change, len(live.tasks)), file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tasksync-watch",
        description="Print your tasks, then every change to them, live.",
    )
    parser.add_argument("--url", default=os.environ.get("TASKSYNC_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("TASKSYNC_TOKEN"), help="default: $TASKSYNC_TOKEN")
    parser.add_argument("--transport", choices=TRANSPORTS, default="ws")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a bearer token is needed: --token or $TASKSYNC_TOKEN")
    try:
        asyncio.run(watch(args.url, args.token, args.transport))
    except KeyboardInterrupt:
        return 130
    except (TasksyncError, ValueError) as exc:
        print(f"tasksync-watch: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
