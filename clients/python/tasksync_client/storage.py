"""`LocalStore`: the SQLite file that keeps a live mirror and its outbox across restarts.

One file can hold several scopes (an API origin and a user): the tasks and `seq` of
each scope's mirror, and its outbox of pending writes in the order they were made. No
other module touches SQLite. The standard library's `sqlite3` runs in a worker thread
(`asyncio.to_thread`), one statement batch at a time, each batch one transaction, so
what a write method returned is on disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tasksync_client.models import Task

T = TypeVar("T")

# Each entry upgrades the file from the schema version of its index to the next one;
# `PRAGMA user_version` records how far a file has come.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE mirrors (scope TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
        "CREATE TABLE tasks (scope TEXT NOT NULL, id TEXT NOT NULL, task TEXT NOT NULL,"
        " PRIMARY KEY (scope, id))",
        "CREATE TABLE outbox (position INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL,"
        " key TEXT NOT NULL, write TEXT NOT NULL, UNIQUE (scope, key))",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
# Another process (a second instance of the app) may hold the file for a moment.
BUSY_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Stored:
    """What a scope has on disk: its mirror (None if none was saved yet) and its outbox."""

    tasks: list[Task] | None
    seq: int
    writes: list[dict[str, Any]]


class LocalStore:
    """One scope of a SQLite file; `await LocalStore.open(path, scope)` (`~` is expanded,
    missing folders are made)."""

    def __init__(self, connection: sqlite3.Connection, scope: str) -> None:
        self._db = connection
        self.scope = scope
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | os.PathLike[str], scope: str) -> LocalStore:
        return cls(await asyncio.to_thread(_connect, Path(path)), scope)

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._db.close)

    async def load(self) -> Stored:
        def read(db: sqlite3.Connection) -> Stored:
            row = db.execute("SELECT seq FROM mirrors WHERE scope = ?", (self.scope,)).fetchone()
            tasks = None
            if row is not None:
                rows = db.execute("SELECT task FROM tasks WHERE scope = ?", (self.scope,))
                tasks = [Task.model_validate_json(text) for (text,) in rows]
            writes = db.execute("SELECT write FROM outbox WHERE scope = ? ORDER BY position", (self.scope,))
            return Stored(tasks, row[0] if row else 0, [_json_loads(text) for (text,) in writes])

        return await self._run(read)

    async def save_snapshot(self, tasks: Iterable[Task], seq: int) -> None:
        """Replace the scope's mirror with a fresh snapshot."""
        rows = [(self.scope, task.id, task.model_dump_json()) for task in tasks]

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM tasks WHERE scope = ?", (self.scope,))
            db.executemany("INSERT INTO tasks (scope, id, task) VALUES (?, ?, ?)", rows)
            self._set_seq(db, seq)

        await self._run(write)

    async def save_task(self, task_id: str, task: Task | None, seq: int | None = None) -> None:
        """Store (or, with None, forget) one task; with `seq`, the mirror has reached it."""

        def write(db: sqlite3.Connection) -> None:
            if task is None:
                db.execute("DELETE FROM tasks WHERE scope = ? AND id = ?", (self.scope, task_id))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO tasks (scope, id, task) VALUES (?, ?, ?)",
                    (self.scope, task_id, task.model_dump_json()),
                )
            if seq is not None:
                self._set_seq(db, seq)

        await self._run(write)

    async def add_write(self, key: str, write: dict[str, Any]) -> None:
        row = (self.scope, key, _json_dumps(write))
        await self._run(lambda db: db.execute("INSERT INTO outbox (scope, key, write) VALUES (?, ?, ?)", row))

    async def update_writes(self, writes: dict[str, dict[str, Any]]) -> None:
        """Rewrite queued writes in place (they keep their position in the queue)."""
        rows = [(_json_dumps(write), self.scope, key) for key, write in writes.items()]
        await self._run(
            lambda db: db.executemany("UPDATE outbox SET write = ? WHERE scope = ? AND key = ?", rows)
        )

    async def remove_writes(self, keys: Iterable[str]) -> None:
        rows = [(self.scope, key) for key in keys]
        await self._run(lambda db: db.executemany("DELETE FROM outbox WHERE scope = ? AND key = ?", rows))

    async def clear(self) -> None:
        """Forget this scope: its mirror and its pending writes."""

        def write(db: sqlite3.Connection) -> None:
            for table in ("mirrors", "tasks", "outbox"):
                db.execute(f"DELETE FROM {table} WHERE scope = ?", (self.scope,))

        await self._run(write)

    def _set_seq(self, db: sqlite3.Connection, seq: int) -> None:
        db.execute("INSERT OR REPLACE INTO mirrors (scope, seq) VALUES (?, ?)", (self.scope, seq))

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def transaction() -> T:
            with self._db:  # commits, or rolls back on an error
                return work(self._db)

        async with self._lock:
            running = asyncio.ensure_future(asyncio.to_thread(transaction))
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                # A thread cannot be stopped: keep the connection to it until it is done.
                await asyncio.wait([running])
                raise


def _connect(path: Path) -> sqlite3.Connection:
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
    try:
        # WAL: a reader in another process never blocks the writer; NORMAL is still
        # durable across a crash of the process (only power loss may lose a last commit).
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        _migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def _migrate(db: sqlite3.Connection) -> None:
    with db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ValueError(f"this store was written by a newer client (schema {version})")
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _json_dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a stored write is not a JSON object")
    return value
