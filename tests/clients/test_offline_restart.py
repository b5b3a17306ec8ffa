"""A restart of the client process: writes queued offline by one process, killed before it
could send them, are shown at once by the next process started on the same file (still
offline), which resumes from the stored `seq` and sends them exactly once.

The client processes are this module run as a script (`python -m
tests.clients.test_offline_restart MODE ARGS`); each prints one JSON line per step.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tasksync_client import Change, LiveTasks, TasksyncClient

from tests.clients.conftest import FAST, client_of, server_process
from tests.netcut import Netcut
from tests.support import ROOT, ServerProcess, User, running

pytestmark = pytest.mark.postgres

WAIT = 20.0


@pytest.fixture(scope="module")
async def server(pg_url: str, artifacts_dir: Path) -> AsyncIterator[ServerProcess]:
    async with running(server_process(pg_url, artifacts_dir, "offline-restart")) as (process,):
        yield process


class ClientProcess:
    """This module as a script, in its own interpreter, speaking JSON lines."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, mode: str, **args: Any) -> ClientProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.clients.test_offline_restart",
            mode,
            json.dumps(args),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), WAIT)
        assert raw, f"the client process ended (exit code {await self.proc.wait()})"
        data: dict[str, Any] = json.loads(raw)
        return data

    async def finish(self) -> int:
        return await asyncio.wait_for(self.proc.wait(), WAIT)

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)


async def test_queued_writes_survive_a_killed_process_and_are_sent_once_by_the_next(
    server: ServerProcess, tmp_path: Path
) -> None:
    user, store = User(), tmp_path / "tasks.sqlite"
    async with client_of(server, user.token) as device, Netcut(server.port) as cut:
        first = await device.create("first")
        second = await device.create("second")
        # A first run, online, leaves the mirror in the file.
        async with TasksyncClient(cut.url, user.token) as client, LiveTasks(client, store=store) as live:
            assert live.seq == 2
        await cut.refuse()

        args = {"url": cut.url, "token": user.token, "store": str(store)}
        writer = await ClientProcess.start("write", **args, edit=first.id, remove=second.id)
        try:
            opened = await writer.line()
            assert (opened["seq"], opened["titles"]) == (2, ["first", "second"])  # from the file, offline
            queued = await writer.line()
            assert queued["pending"] == ["create", "edit", "edit", "delete"]
        finally:
            writer.kill()  # no goodbye: whatever it did not store is lost
        await writer.finish()

        third = await device.create("made elsewhere while the client was away")  # seq 3

        resumer = await ClientProcess.start("resume", **args, head=3 + 4)
        try:
            shown = await resumer.line()  # still offline
            assert shown["seq"] == 2
            assert shown["titles"] == ["first, renamed offline", "made offline"]
            assert shown["pending"] == ["create", "edit", "edit", "delete"]
            await cut.restore()
            done = await resumer.line()
        finally:
            resumer.kill()
        assert await resumer.finish() in (0, -signal.SIGKILL)

    # It resumed from seq 2: the change made meanwhile arrived as an event, no reload.
    assert done["changes"][0] == [3, "task.created", False]
    assert "resync" not in [kind for _, kind, _ in done["changes"]]
    # Its queued writes, sent once each, under the id of the process that made them.
    events = (await _changes(server, user, since=3))["events"]
    assert [(e["type"], e["task"]["id"], e["origin"]) for e in events] == [
        ("task.created", done["created"], queued["client_id"]),
        ("task.updated", first.id, queued["client_id"]),
        ("task.updated", first.id, queued["client_id"]),
        ("task.deleted", second.id, queued["client_id"]),
    ]
    assert [own for _, _, own in done["changes"][1:]] == [True] * 4  # recognised as its own
    assert done["seq"] == 7 and done["pending"] == []
    async with client_of(server, user.token) as device:
        tasks = {task.id: task async for task in device.iter_tasks()}
    assert {task.title for task in tasks.values()} == {
        "first, renamed offline",
        "made offline",
        third.title,
    }
    assert tasks[first.id].completed and tasks[first.id].version == 3
    assert done["tasks"] == {task_id: task.model_dump(mode="json") for task_id, task in tasks.items()}


async def _changes(server: ServerProcess, user: User, since: int) -> dict[str, Any]:
    async with client_of(server, user.token) as device:
        page = await device.changes(since=since)
    return page.model_dump(mode="json")


# ---- the client processes ------------------------------------------------------------


def _say(**data: Any) -> None:
    print(json.dumps(data), flush=True)


def _titles(live: LiveTasks) -> list[str]:
    return sorted(task.title for task in live.tasks.values())


async def _write(args: dict[str, Any]) -> None:
    async with (
        TasksyncClient(args["url"], args["token"], backoff=FAST) as client,
        LiveTasks(client, store=args["store"], backoff=FAST) as live,
    ):
        _say(seq=live.seq, titles=_titles(live))
        await live.create("made offline")
        await live.update(args["edit"], title="first, renamed offline")
        await live.complete(args["edit"])
        await live.delete(args["remove"])
        _say(pending=[w.operation for w in live.pending], client_id=client.client_id)
        await asyncio.Event().wait()  # until killed


async def _resume(args: dict[str, Any]) -> None:
    async with (
        TasksyncClient(args["url"], args["token"], backoff=FAST) as client,
        LiveTasks(client, store=args["store"], backoff=FAST) as live,
    ):
        feed = live.changes()
        _say(seq=live.seq, titles=_titles(live), pending=[w.operation for w in live.pending])
        created = next(w.task_id for w in live.pending if w.operation == "create")
        await live.wait_until(lambda m: not m.pending and m.seq >= args["head"], timeout=WAIT)
        changes: list[Change] = []
        while len(changes) < args["head"] - 2:
            changes.append(await asyncio.wait_for(anext(feed), WAIT))
        _say(
            seq=live.seq,
            pending=[w.operation for w in live.pending],
            created=created,
            changes=[[c.seq, c.type, c.own] for c in changes],
            tasks={task_id: task.model_dump(mode="json") for task_id, task in live.tasks.items()},
        )


if __name__ == "__main__":
    mode, raw = sys.argv[1], json.loads(sys.argv[2])
    asyncio.run(_write(raw) if mode == "write" else _resume(raw))
