"""The store file on disk, without a server: private to its user, safe to open from
several processes at once, held by one writer per user, and never a dead end when a
row or the whole file is damaged (what can be read is kept, the rest is reported)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import multiprocessing
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tasksync_client import (
    Backoff,
    Conflict,
    LiveTasks,
    Quarantined,
    QueuedWrite,
    StoreLockedError,
    Task,
    TasksyncClient,
    TasksyncError,
)
from tasksync_client.storage import SCHEMA_VERSION, LocalStore

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
TABLES = {"mirrors", "tasks", "outbox", "conflicts", "quarantine"}


def task(task_id: str = "t", **fields: object) -> Task:
    return Task.model_validate(
        {"id": task_id, "title": "x", "created_at": AT, "updated_at": AT, "version": 1, **fields}
    )


def edit(title: str) -> QueuedWrite:
    return QueuedWrite("edit", "t", {"title": title}, {"title": "x"}, queued_at=AT)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        found = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    return found - {"sqlite_sequence"}


# ---- privacy -----------------------------------------------------------------------------


async def test_the_file_its_wal_and_the_folders_made_for_it_are_private(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)  # a folder that was there already: the user's, left as it is
    path = tmp_path / "made" / "for it" / "tasks.sqlite"
    umask = os.umask(0o022)
    try:
        store = await LocalStore.open(path, "scope")
        await store.save_snapshot([task()], 1)
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists() and shm.exists()  # while the store is open
        files = {p.name: mode(p) for p in (path, wal, shm)}
        assert files == {"tasks.sqlite": 0o600, "tasks.sqlite-wal": 0o600, "tasks.sqlite-shm": 0o600}
        folders = (mode(tmp_path / "made"), mode(tmp_path / "made" / "for it"), mode(tmp_path))
        assert folders == (0o700, 0o700, 0o755)
        # This scope's lock, and the one held while opening.
        assert [mode(lock) for lock in tmp_path.glob("made/for it/*.lock")] == [0o600, 0o600]
        await store.close()
    finally:
        os.umask(umask)


async def test_a_file_an_earlier_client_left_readable_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    store = await LocalStore.open(path, "scope")
    await store.close()
    path.chmod(0o644)
    store = await LocalStore.open(path, "scope")
    assert mode(path) == 0o600
    await store.close()


# ---- concurrent first opens, and half-made files --------------------------------------


def open_new_files(prefix: str, rounds: int, start: Any, errors: Any) -> None:
    """In a process of its own: open (and close) a new file each round, with the others."""

    async def open_and_close(path: Path) -> None:
        store = await LocalStore.open(path, f"scope of {os.getpid()}")
        await store.add_write(f"k{os.getpid()}", {"from": os.getpid()})
        await store.close()

    for round in range(rounds):
        start.wait()
        try:
            asyncio.run(open_and_close(Path(f"{prefix}-{round}.sqlite")))
        except Exception as exc:
            errors.put(f"{type(exc).__name__}: {exc}")


def test_four_processes_opening_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    processes, rounds = 4, 10
    spawn = multiprocessing.get_context("spawn")
    start, errors = spawn.Barrier(processes), spawn.Queue()
    workers = [
        spawn.Process(target=open_new_files, args=(str(tmp_path / "new"), rounds, start, errors))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    failed = []
    while not errors.empty():
        failed.append(errors.get())
    assert [worker.exitcode for worker in workers] == [0] * processes
    assert failed == []
    for round in range(rounds):
        path = tmp_path / f"new-{round}.sqlite"
        assert tables(path) == TABLES
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == processes
        db.close()


@pytest.mark.parametrize(
    ("made", "version"),
    [
        # stopped after the first table of a new file
        (["CREATE TABLE mirrors (scope TEXT PRIMARY KEY, seq INTEGER NOT NULL)"], 0),
        # stopped while upgrading a file of schema 1: its new table made, the rest not
        (
            [
                "CREATE TABLE mirrors (scope TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
                "CREATE TABLE tasks (scope TEXT NOT NULL, id TEXT NOT NULL, task TEXT NOT NULL,"
                " PRIMARY KEY (scope, id))",
                "CREATE TABLE outbox (position INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL,"
                " key TEXT NOT NULL, write TEXT NOT NULL, UNIQUE (scope, key))",
                "CREATE TABLE conflicts (position INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL,"
                " key TEXT NOT NULL, conflict TEXT NOT NULL, UNIQUE (scope, key))",
            ],
            1,
        ),
    ],
)
async def test_a_file_a_crash_left_half_made_opens(tmp_path: Path, made: list[str], version: int) -> None:
    """Earlier clients created the tables one statement at a time, outside a transaction."""
    path = tmp_path / "tasks.sqlite"
    with sqlite3.connect(path) as db:
        for statement in made:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {version}")
    db.close()
    store = await LocalStore.open(path, "scope")
    await store.save_snapshot([task()], 3)
    await store.add_write(edit("y").key, edit("y").to_json())
    stored = await store.load(check_write=QueuedWrite.from_json)
    assert (stored.tasks, stored.seq, len(stored.writes)) == ([task()], 3, 1)
    await store.close()
    assert tables(path) == TABLES


async def test_an_upgrade_that_fails_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasksync_client import store_schema

    def stopped(db: sqlite3.Connection) -> None:
        raise OSError("stopped in the middle of the upgrade")

    monkeypatch.setattr(store_schema, "MIGRATIONS", (store_schema.MIGRATIONS[0], stopped))
    path = tmp_path / "tasks.sqlite"
    with pytest.raises(OSError, match="stopped"):
        await LocalStore.open(path, "scope")
    assert tables(path) == set()
    monkeypatch.undo()
    store = await LocalStore.open(path, "scope")  # and it opens once the cause is gone
    await store.close()
    assert tables(path) == TABLES


# ---- one writer per user ------------------------------------------------------------------


async def test_a_scope_open_in_this_process_cannot_be_opened_twice(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    first = await LocalStore.open(path, "http://api#alice")
    with pytest.raises(StoreLockedError) as refused:
        await LocalStore.open(path, "http://api#alice")
    assert isinstance(refused.value, TasksyncError)
    bob = await LocalStore.open(path, "http://api#bob")  # another user of the same file
    await first.close()
    again = await LocalStore.open(path, "http://api#alice")  # released on close
    await again.close()
    await bob.close()


HOLDER = """
import asyncio, sys, time
from tasksync_client.storage import LocalStore

async def hold() -> None:
    await LocalStore.open(sys.argv[1], "http://api#alice")
    print("open", flush=True)
    time.sleep(120)

asyncio.run(hold())
"""


async def test_a_scope_open_in_another_process_is_refused_until_that_process_dies(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "open\n"
            with pytest.raises(StoreLockedError):
                await LocalStore.open(path, "http://api#alice")
        finally:
            holder.kill()  # no close: the OS releases the lock of a dead process
    store = await LocalStore.open(path, "http://api#alice")
    await store.close()


def token_of(subject: str) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'sub': subject, 'exp': 4102444800})}.sig"


async def stored_offline_mirror(
    path: Path, client: TasksyncClient, writes: list[tuple[str, bytes | str]]
) -> None:
    """A file as a previous run left it: a mirror (so starting needs no server) and rows."""
    store = await LocalStore.open(path, f"{str(client.base_url).rstrip('/')}#alice")
    await store.save_snapshot([task()], 1)
    await store.close()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO outbox (scope, key, write) VALUES (?, ?, ?)",
            [(store.scope, key, raw) for key, raw in writes],
        )
    db.close()


async def test_a_second_live_mirror_of_the_same_user_and_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    # No server listens there: both mirrors start from the file, offline.
    async with TasksyncClient("http://127.0.0.1:9", token_of("alice")) as client:
        await stored_offline_mirror(path, client, [])
        backoff = Backoff(initial=0.05, maximum=0.5)
        async with LiveTasks(client, store=path, backoff=backoff) as live:
            with pytest.raises(StoreLockedError):
                await LiveTasks(client, store=path, backoff=backoff).start()
            assert list(live.tasks) == ["t"]
        async with LiveTasks(client, store=path, backoff=backoff) as again:  # once it closed
            assert list(again.tasks) == ["t"]


# ---- damage ----------------------------------------------------------------------------------


def set_aside_in_log(caplog: pytest.LogCaptureFixture) -> list[Quarantined]:
    return [record.quarantined for record in caplog.records if hasattr(record, "quarantined")]


async def test_damaged_rows_are_set_aside_and_every_readable_write_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, scope = tmp_path / "tasks.sqlite", "http://api#alice"
    store = await LocalStore.open(path, scope)
    await store.save_snapshot([task("t"), task("u")], 4)
    await store.close()
    good = [edit("one"), edit("two"), edit("three")]
    damaged: list[tuple[str, bytes | str]] = [
        ("not-json", "{not json"),
        ("not-utf-8", b'{"title": "\xff\xfe"}'),
        ("a-list", "[1, 2]"),
    ]
    rows = [
        (good[0].key, json.dumps(good[0].to_json())),
        damaged[0],
        (good[1].key, json.dumps(good[1].to_json())),
        *damaged[1:],
        (good[2].key, json.dumps(good[2].to_json())),
    ]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE tasks SET task = '{\"id\": \"u\"' WHERE id = 'u'")  # cut short
        db.executemany(
            "INSERT INTO outbox (scope, key, write) VALUES (?, ?, ?)", [(scope, *row) for row in rows]
        )
    db.close()

    caplog.set_level(logging.WARNING, "tasksync_client")
    store = await LocalStore.open(path, scope)
    stored = await store.load()
    assert [QueuedWrite.from_json(data) for data in stored.writes] == good
    assert stored.tasks is None  # a damaged task: the mirror reloads from the server
    assert [(item.kind, item.key) for item in store.quarantined] == [
        ("task", "u"),
        ("write", "not-json"),
        ("write", "not-utf-8"),
        ("write", "a-list"),
    ]
    assert store.quarantined[1].content == "{not json"
    assert set_aside_in_log(caplog) == store.quarantined
    await store.close()

    # Set aside once: the next open finds a sound file and reports nothing.
    caplog.clear()
    store = await LocalStore.open(path, scope)
    again = await store.load()
    assert (again.writes, again.tasks, store.quarantined, set_aside_in_log(caplog)) == (
        stored.writes,
        None,
        [],
        [],
    )
    await store.close()
    with sqlite3.connect(path) as db:
        kept = db.execute("SELECT key, CAST(content AS BLOB) FROM quarantine WHERE what = 'write'").fetchall()
    db.close()
    assert kept == [(key, raw if isinstance(raw, bytes) else raw.encode()) for key, raw in damaged]


async def test_start_sets_aside_a_write_the_mirror_cannot_take_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "tasks.sqlite"
    before, after = edit("before"), edit("after")
    rows: list[tuple[str, bytes | str]] = [
        (before.key, json.dumps(before.to_json())),
        ("no-operation", json.dumps({"task_id": "t", "changes": {}})),
        (after.key, json.dumps(after.to_json())),
    ]
    async with TasksyncClient("http://127.0.0.1:9", token_of("alice")) as client:
        await stored_offline_mirror(path, client, rows)
        async with LiveTasks(client, store=path, backoff=Backoff(initial=0.05, maximum=0.5)) as live:
            assert [w.key for w in live.pending] == [before.key, after.key]
            assert [(item.kind, item.key) for item in live.quarantined] == [("write", "no-operation")]
            assert "KeyError" in live.quarantined[0].reason


async def test_a_file_sqlite_cannot_read_is_moved_aside_and_a_fresh_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tasks.sqlite"
    path.write_bytes(b"this is no database " * 300)
    caplog.set_level(logging.WARNING, "tasksync_client")
    store = await LocalStore.open(path, "http://api#alice")
    (moved,) = tmp_path.glob("tasks.sqlite.corrupt-*")
    assert moved.read_bytes() == b"this is no database " * 300  # kept as it was, for a look
    (notice,) = store.quarantined
    assert (notice.kind, notice.moved_to) == ("file", str(moved))
    assert "0 queued writes and 0 conflicts were recovered" in notice.reason
    assert set_aside_in_log(caplog) == [notice]
    stored = await store.load()
    assert (stored.tasks, stored.writes, stored.conflicts) == (None, [], [])
    await store.save_snapshot([task()], 1)  # and the fresh file works
    await store.close()
    assert tables(path) == TABLES and mode(path) == 0o600


async def test_a_truncated_file_keeps_each_user_the_writes_still_readable_in_it(tmp_path: Path) -> None:
    path, alice, bob = tmp_path / "tasks.sqlite", "http://api#alice", "http://api#bob"
    bobs = await LocalStore.open(path, bob)
    await bobs.save_snapshot([], 0)
    await bobs.close()
    store = await LocalStore.open(path, alice)
    await store.save_snapshot([task(f"t{n}", description="d" * 500) for n in range(100)], 9)
    queued = [edit(f"title {n} " + "w" * 200) for n in range(200)]
    for write in queued:
        await store.add_write(write.key, write.to_json())
    conflict = Conflict.of_field("t", "title", "x", "mine", "theirs")
    await store.save_conflicts({conflict.key: conflict.to_json()})
    await store.close()
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.truncate(size * 9 // 10 // 4096 * 4096)  # the last pages are gone

    store = await LocalStore.open(path, alice)
    stored = await store.load(check_write=QueuedWrite.from_json, check_conflict=Conflict.from_json)
    kept = [QueuedWrite.from_json(data) for data in stored.writes]
    assert 0 < len(kept) < len(queued)
    assert kept == [write for write in queued if write in kept]  # in their order
    assert stored.tasks is None  # the mirror reloads from the server
    (notice,) = store.quarantined
    assert notice.kind == "file" and f"{len(kept)} queued writes" in notice.reason
    assert notice.moved_to is not None and Path(notice.moved_to).exists()
    await store.close()

    # Bob, who was not there when it happened, is told when he next opens; once.
    for expected in (1, 0):
        bobs = await LocalStore.open(path, bob)
        assert [item.kind for item in bobs.quarantined] == ["file"] * expected
        await bobs.close()
