"""The offline pieces without a server: how a queued write shows on top of the server's
task, how the queue adjusts when a write is refused, and the SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tasksync_client import QueuedWrite, Task, WriteRequest
from tasksync_client.outbox import Outbox
from tasksync_client.storage import SCHEMA_VERSION, LocalStore

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def task(version: int = 1, **fields: object) -> Task:
    return Task.model_validate(
        {"id": "t", "title": "x", "created_at": AT, "updated_at": AT, "version": version, **fields}
    )


def write(
    operation: str, base: int, attempted: dict[str, object], if_match: int | None = None
) -> QueuedWrite:
    request = WriteRequest("PATCH", "/api/tasks/t", attempted or None, if_match=if_match)
    return QueuedWrite(operation, "t", request, attempted, base, AT)  # type: ignore[arg-type]


def test_a_queued_write_shows_only_on_the_version_it_was_made_on() -> None:
    edit = write("update", 1, {"title": "mine"}, if_match=1)
    shown = edit.applied_to(task(1))
    assert shown is not None and (shown.title, shown.version) == ("mine", 2)
    # The task moved on (its own echo, or another device's change): shown as it is.
    assert edit.applied_to(task(2, title="theirs")) == task(2, title="theirs")
    assert edit.applied_to(None) is None
    assert write("delete", 1, {}).applied_to(task(1)) is None
    created = write("create", 0, {"title": "new", "due_date": "2026-12-24"}).applied_to(None)
    assert created is not None and (created.version, str(created.due_date)) == (1, "2026-12-24")


def test_an_answered_write_shows_the_servers_task_until_a_newer_one() -> None:
    request = WriteRequest("PATCH", "/api/tasks/t")
    answered = QueuedWrite("update", "t", request, {}, 1, AT, seq=7, result=task(2))
    assert answered.applied_to(task(1)) == task(2)
    assert answered.applied_to(task(3)) == task(3)
    assert QueuedWrite.from_json(answered.to_json()) == answered


async def test_writes_after_a_refused_one_no_longer_count_on_it() -> None:
    outbox = Outbox()
    refused = write("update", 1, {"title": "refused"}, if_match=1)
    toggle = write("toggle", 2, {"completed": True}, if_match=2)
    lww = write("update", 3, {"title": "last writer wins"})
    other = WriteRequest("PATCH", "/api/tasks/u/complete", if_match=5)
    elsewhere = QueuedWrite("toggle", "u", other, {}, 5, AT)
    for each in (refused, toggle, lww, elsewhere):
        await outbox.add(each)
    await outbox.rebase_after(refused)
    await outbox.remove([refused])
    assert [(w.task_id, w.base_version, w.request.if_match) for w in outbox.writes] == [
        ("t", 1, 1),
        ("t", 2, None),
        ("u", 5, 5),
    ]


async def test_the_file_keeps_each_scope_apart_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    alice, bob = (
        await LocalStore.open(path, "http://api#alice"),
        await LocalStore.open(path, "http://api#bob"),
    )
    assert (await alice.load()).tasks is None  # nothing stored: a snapshot is needed
    await alice.save_snapshot([task(1)], 5)
    await alice.save_task("t", task(2, title="renamed"), 6)
    queued = write("toggle", 2, {"completed": True}, if_match=2)
    await alice.add_write(queued.key, queued.to_json())
    await bob.save_snapshot([], 0)
    await bob.clear()
    await alice.close()
    await bob.close()

    alice = await LocalStore.open(path, "http://api#alice")
    stored = await alice.load()
    assert (stored.tasks, stored.seq) == ([task(2, title="renamed")], 6)
    assert [QueuedWrite.from_json(data) for data in stored.writes] == [queued]
    await alice.clear()
    assert (await alice.load()).tasks is None
    await alice.close()


def test_a_file_from_a_newer_client_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ValueError, match="newer client"):
        asyncio.run(LocalStore.open(path, "scope"))
