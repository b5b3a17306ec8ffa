"""`LocalStore`: the SQLite file that keeps a live mirror and its outbox across restarts.

One file can hold several scopes (an API origin and a user): the tasks and `seq` of
each scope's mirror, its outbox of pending writes in the order they were made, and its
open conflicts. No other module touches SQLite. The standard library's `sqlite3` runs
in a worker thread (`asyncio.to_thread`), one statement batch at a time, each batch one
transaction, so what a write method returned is on disk. The file itself (privacy,
locks, damage) is `store_file`'s; its tables and their upgrades are `store_schema`'s.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from tasksync_client.models import Task
from tasksync_client.store_damage import Quarantined, report, set_aside
from tasksync_client.store_file import StoreFile, open_store_file
from tasksync_client.store_schema import SCHEMA_VERSION, json_dumps, json_loads

__all__ = ["SCHEMA_VERSION", "Check", "LocalStore", "Quarantined", "Stored"]

T = TypeVar("T")
Check = Callable[[dict[str, Any]], object]
"""Raises if a stored row cannot be used (for example `QueuedWrite.from_json`)."""


def _usable(data: dict[str, Any]) -> None:
    """Any JSON object will do."""


@dataclass(frozen=True, slots=True)
class Stored:
    """What a scope has on disk: its mirror (None if none was saved yet) and its outbox."""

    tasks: list[Task] | None
    seq: int
    writes: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]


class LocalStore:
    """One scope of a SQLite file; `await LocalStore.open(path, scope)` (`~` is expanded,
    missing folders are made). While it is open no other store can open the scope
    (`StoreLockedError`). `quarantined` lists what could not be read and was set aside,
    by this open and by `load`."""

    def __init__(self, file: StoreFile, scope: str) -> None:
        self._file = file
        self._db = file.db
        self.scope = scope
        self.quarantined: list[Quarantined] = list(file.notices)
        self._lock = asyncio.Lock()
        report(self.quarantined)

    @classmethod
    async def open(cls, path: str | os.PathLike[str], scope: str) -> LocalStore:
        return cls(await asyncio.to_thread(open_store_file, Path(path), scope), scope)

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._file.close)

    async def load(self, *, check_write: Check = _usable, check_conflict: Check = _usable) -> Stored:
        """The scope's mirror, outbox and conflicts. A row that cannot be read, or that
        its check refuses, is set aside (the rest of the queue is kept); a damaged task
        drops the stored mirror, so a snapshot is loaded."""

        def read(db: sqlite3.Connection) -> tuple[Stored, list[Quarantined]]:
            found: list[Quarantined] = []
            row = db.execute("SELECT seq FROM mirrors WHERE scope = ?", (self.scope,)).fetchone()
            tasks: list[Task] | None = None
            if row is not None:
                tasks = []
                for key, raw in db.execute(
                    "SELECT id, CAST(task AS BLOB) FROM tasks WHERE scope = ?", (self.scope,)
                ).fetchall():
                    try:
                        tasks.append(Task.model_validate_json(raw))
                    except ValueError as exc:
                        found.append(set_aside(db, self.scope, "task", key, raw, str(exc)))
                        db.execute("DELETE FROM tasks WHERE scope = ? AND id = ?", (self.scope, key))
                if any(item.kind == "task" for item in found):
                    db.execute("DELETE FROM mirrors WHERE scope = ?", (self.scope,))
                    tasks = None
            queued = self._readable(db, "outbox", "write", check_write, found)
            conflicts = self._readable(db, "conflicts", "conflict", check_conflict, found)
            return Stored(tasks, row[0] if tasks is not None else 0, queued, conflicts), found

        stored, found = await self._run(read)
        self.quarantined.extend(found)
        report(found)
        return stored

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
        row = (self.scope, key, json_dumps(write))
        await self._run(lambda db: db.execute("INSERT INTO outbox (scope, key, write) VALUES (?, ?, ?)", row))

    async def update_writes(self, writes: dict[str, dict[str, Any]]) -> None:
        """Rewrite queued writes in place (they keep their position in the queue)."""
        await self.rewrite_writes({key: (key, write) for key, write in writes.items()})

    async def rewrite_writes(self, writes: dict[str, tuple[str, dict[str, Any]] | None]) -> None:
        """Rewrite queued writes by key, maybe under a new key (None: remove), each
        keeping its position in the queue; all at once."""
        updated = [(new, json_dumps(data), self.scope, key) for key, (new, data) in _present(writes)]
        removed = [(self.scope, key) for key, value in writes.items() if value is None]

        def write(db: sqlite3.Connection) -> None:
            db.executemany("DELETE FROM outbox WHERE scope = ? AND key = ?", removed)
            db.executemany("UPDATE outbox SET key = ?, write = ? WHERE scope = ? AND key = ?", updated)

        await self._run(write)

    async def save_conflicts(self, conflicts: dict[str, dict[str, Any] | None]) -> None:
        """Store conflicts by key (one of a key stored already is replaced in its place;
        None: forget it)."""
        removed = [(self.scope, key) for key, data in conflicts.items() if data is None]
        stored = [(self.scope, key, json_dumps(data)) for key, data in conflicts.items() if data is not None]

        def write(db: sqlite3.Connection) -> None:
            db.executemany("DELETE FROM conflicts WHERE scope = ? AND key = ?", removed)
            db.executemany(
                "INSERT INTO conflicts (scope, key, conflict) VALUES (?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET conflict = excluded.conflict",
                stored,
            )

        await self._run(write)

    async def remove_writes(self, keys: Iterable[str]) -> None:
        rows = [(self.scope, key) for key in keys]
        await self._run(lambda db: db.executemany("DELETE FROM outbox WHERE scope = ? AND key = ?", rows))

    async def clear(self) -> None:
        """Forget this scope: its mirror, its pending writes and conflicts, and what was
        set aside of its rows."""

        def write(db: sqlite3.Connection) -> None:
            for table in ("mirrors", "tasks", "outbox", "conflicts", "quarantine"):
                db.execute(f"DELETE FROM {table} WHERE scope = ?", (self.scope,))

        await self._run(write)

    def _readable(
        self,
        db: sqlite3.Connection,
        table: str,
        kind: Literal["write", "conflict"],
        check: Check,
        found: list[Quarantined],
    ) -> list[dict[str, Any]]:
        """The rows of the outbox (`write`s) or the conflicts the check accepts, in order."""
        rows = db.execute(
            f"SELECT position, key, CAST({kind} AS BLOB) FROM {table} WHERE scope = ? ORDER BY position",
            (self.scope,),
        ).fetchall()
        readable = []
        for position, key, raw in rows:
            try:
                data = json_loads(raw)
                check(data)
            except Exception as exc:  # whatever the check raises: this row cannot be used
                found.append(set_aside(db, self.scope, kind, key, raw, f"{type(exc).__name__}: {exc}"))
                db.execute(f"DELETE FROM {table} WHERE position = ?", (position,))
            else:
                readable.append(data)
        return readable

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


def _present(
    writes: dict[str, tuple[str, dict[str, Any]] | None],
) -> list[tuple[str, tuple[str, dict[str, Any]]]]:
    return [(key, value) for key, value in writes.items() if value is not None]
