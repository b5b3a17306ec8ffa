"""The offline store without a server: the SQLite file keeps each scope's mirror, outbox
and open conflicts across reopening, and a file written by the previous schema is
upgraded with its queued writes kept."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tasksync_client import Conflict, QueuedWrite, Task
from tasksync_client.storage import SCHEMA_VERSION, LocalStore

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def task(version: int = 1, **fields: object) -> Task:
    return Task.model_validate(
        {"id": "t", "title": "x", "created_at": AT, "updated_at": AT, "version": version, **fields}
    )


def test_a_queued_write_survives_its_json_form() -> None:
    answered = QueuedWrite("edit", "t", {"title": "y"}, {"title": "x"}, queued_at=AT, seq=7, result=task(2))
    assert QueuedWrite.from_json(answered.to_json()) == answered


async def test_the_file_keeps_each_scope_apart_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    alice, bob = (
        await LocalStore.open(path, "http://api#alice"),
        await LocalStore.open(path, "http://api#bob"),
    )
    assert (await alice.load()).tasks is None  # nothing stored: a snapshot is needed
    await alice.save_snapshot([task(1)], 5)
    await alice.save_task("t", task(2, title="renamed"), 6)
    queued = QueuedWrite("edit", "t", {"completed": True}, {"completed": False}, queued_at=AT)
    await alice.add_write(queued.key, queued.to_json())
    conflict = Conflict.of_field("t", "title", "x", "mine", "theirs")
    deleting = Conflict.of_delete("u", task(1), task(2))
    await alice.save_conflicts({conflict.key: conflict.to_json(), deleting.key: deleting.to_json()})
    await bob.save_snapshot([], 0)
    await bob.clear()
    await alice.close()
    await bob.close()

    alice = await LocalStore.open(path, "http://api#alice")
    stored = await alice.load()
    assert (stored.tasks, stored.seq) == ([task(2, title="renamed")], 6)
    assert [QueuedWrite.from_json(data) for data in stored.writes] == [queued]
    assert [Conflict.from_json(data) for data in stored.conflicts] == [conflict, deleting]
    await alice.clear()
    cleared = await alice.load()
    assert (cleared.tasks, cleared.writes, cleared.conflicts) == (None, [], [])
    await alice.close()


def test_a_file_from_a_newer_client_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ValueError, match="newer client"):
        asyncio.run(LocalStore.open(path, "scope"))


def test_a_file_of_the_previous_schema_keeps_its_queue_as_field_edits(tmp_path: Path) -> None:
    """A client of schema 1 queued whole-task writes with `If-Match`; after the upgrade
    each edit tests the values its user saw (the stored task, then the writes before it)."""
    path = tmp_path / "tasks.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE mirrors (scope TEXT PRIMARY KEY, seq INTEGER NOT NULL)")
        db.execute(
            "CREATE TABLE tasks (scope TEXT NOT NULL, id TEXT NOT NULL, task TEXT NOT NULL,"
            " PRIMARY KEY (scope, id))"
        )
        db.execute(
            "CREATE TABLE outbox (position INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL,"
            " key TEXT NOT NULL, write TEXT NOT NULL, UNIQUE (scope, key))"
        )
        db.execute("INSERT INTO mirrors VALUES ('s', 3)")
        db.execute("INSERT INTO tasks VALUES ('s', 't', ?)", (task(1).model_dump_json(),))
        old = [
            ("update", {"title": "renamed"}, "PATCH", 1),
            ("toggle", {"completed": True}, "PATCH", 2),
            ("delete", {}, "DELETE", 3),
        ]
        for key, (operation, attempted, method, version) in enumerate(old):
            request = {
                "method": method,
                "path": "/api/tasks/t",
                "body": None,
                "if_match": version,
                "if_none_match": False,
                "idempotency_key": f"k{key}",
                "client_id": "py-old",
            }
            write = {
                "operation": operation,
                "task_id": "t",
                "request": request,
                "attempted": attempted,
                "base_version": version,
                "queued_at": AT.isoformat(),
                "seq": None,
                "result": None,
            }
            db.execute(
                "INSERT INTO outbox (scope, key, write) VALUES ('s', ?, ?)", (f"k{key}", json.dumps(write))
            )
        db.execute("PRAGMA user_version = 1")
    db.close()

    async def upgraded() -> list[QueuedWrite]:
        store = await LocalStore.open(path, "s")
        try:
            writes = [QueuedWrite.from_json(data) for data in (await store.load()).writes]
            # Each is found by its key, as the outbox finds it once it is answered.
            await store.remove_writes([writes[0].key])
            assert len((await store.load()).writes) == 2
            return writes
        finally:
            await store.close()

    writes = asyncio.run(upgraded())
    assert [(w.operation, w.changes, w.seen, w.if_match, w.client_id) for w in writes] == [
        ("edit", {"title": "renamed"}, {"title": "x"}, None, "py-old"),
        ("edit", {"completed": True}, {"completed": False}, None, "py-old"),
        (
            "delete",
            {},
            {**task(1).model_dump(mode="json"), "title": "renamed", "completed": True},
            3,
            "py-old",
        ),
    ]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    db.close()
