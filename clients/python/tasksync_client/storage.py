"""`LocalStore`: the SQLite file that keeps a live mirror and its outbox across restarts.

One file can hold several scopes (an API origin and a user): the tasks and `seq` of
each scope's mirror, its outbox of pending writes in the order they were made, and its
open conflicts. No
other module touches SQLite. The standard library's `sqlite3` runs in a worker thread
(`asyncio.to_thread`), one statement batch at a time, each batch one transaction, so
what a write method returned is on disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tasksync_client.models import Task

T = TypeVar("T")

Migration = Callable[[sqlite3.Connection], None]


def _statements(*sql: str) -> Migration:
    def run(db: sqlite3.Connection) -> None:
        for statement in sql:
            db.execute(statement)

    return run


def _field_edits(db: sqlite3.Connection) -> None:
    """Schema 2: edits are queued as changed fields each with the value the user saw
    (JSON Patch tests) instead of whole-task `If-Match` writes, and conflicts are kept."""
    db.execute(
        "CREATE TABLE conflicts (position INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL,"
        " key TEXT NOT NULL, conflict TEXT NOT NULL, UNIQUE (scope, key))"
    )
    shown: dict[tuple[str, str], dict[str, Any]] = {}
    for scope, task_id, text in db.execute("SELECT scope, id, task FROM tasks"):
        shown[scope, task_id] = _json_loads(text)
    rows = db.execute("SELECT position, scope, write FROM outbox ORDER BY position").fetchall()
    for position, scope, text in rows:
        old = _json_loads(text)
        task = shown.setdefault((scope, old["task_id"]), {})
        new = _v1_write(old, task)
        db.execute(
            "UPDATE outbox SET key = ?, write = ? WHERE position = ?",
            (new["key"], _json_dumps(new), position),
        )


# Each entry upgrades the file from the schema version of its index to the next one;
# `PRAGMA user_version` records how far a file has come.
MIGRATIONS: tuple[Migration, ...] = (
    _statements(
        "CREATE TABLE mirrors (scope TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
        "CREATE TABLE tasks (scope TEXT NOT NULL, id TEXT NOT NULL, task TEXT NOT NULL,"
        " PRIMARY KEY (scope, id))",
        "CREATE TABLE outbox (position INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL,"
        " key TEXT NOT NULL, write TEXT NOT NULL, UNIQUE (scope, key))",
    ),
    _field_edits,
)
SCHEMA_VERSION = len(MIGRATIONS)
EDITABLE = ("title", "description", "completed", "due_date")
# Another process (a second instance of the app) may hold the file for a moment.
BUSY_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Stored:
    """What a scope has on disk: its mirror (None if none was saved yet) and its outbox."""

    tasks: list[Task] | None
    seq: int
    writes: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]


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
            queued = [_json_loads(text) for (text,) in writes]
            conflicts = db.execute(
                "SELECT conflict FROM conflicts WHERE scope = ? ORDER BY position", (self.scope,)
            )
            return Stored(tasks, row[0] if row else 0, queued, [_json_loads(text) for (text,) in conflicts])

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
        await self.rewrite_writes({key: (key, write) for key, write in writes.items()})

    async def rewrite_writes(self, writes: dict[str, tuple[str, dict[str, Any]] | None]) -> None:
        """Rewrite queued writes by key, maybe under a new key (None: remove), each
        keeping its position in the queue; all at once."""
        updated = [(new, _json_dumps(data), self.scope, key) for key, (new, data) in _present(writes)]
        removed = [(self.scope, key) for key, value in writes.items() if value is None]

        def write(db: sqlite3.Connection) -> None:
            db.executemany("DELETE FROM outbox WHERE scope = ? AND key = ?", removed)
            db.executemany("UPDATE outbox SET key = ?, write = ? WHERE scope = ? AND key = ?", updated)

        await self._run(write)

    async def save_conflicts(self, conflicts: dict[str, dict[str, Any] | None]) -> None:
        """Store conflicts by key (one of a key stored already is replaced in its place;
        None: forget it)."""
        removed = [(self.scope, key) for key, data in conflicts.items() if data is None]
        stored = [(self.scope, key, _json_dumps(data)) for key, data in conflicts.items() if data is not None]

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
        """Forget this scope: its mirror and its pending writes."""

        def write(db: sqlite3.Connection) -> None:
            for table in ("mirrors", "tasks", "outbox", "conflicts"):
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
        for migrate in MIGRATIONS[version:]:
            migrate(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _json_dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a stored write is not a JSON object")
    return value


def _present(
    writes: dict[str, tuple[str, dict[str, Any]] | None],
) -> list[tuple[str, tuple[str, dict[str, Any]]]]:
    return [(key, value) for key, value in writes.items() if value is not None]


def _v1_write(old: dict[str, Any], shown: dict[str, Any]) -> dict[str, Any]:
    """A write queued by a schema-1 client, as this client queues it: an edit's `seen`
    is what the stored task and the writes before it showed, which is what its user saw
    when they made it on that version."""
    request = old["request"]
    operation = old["operation"]
    kept = {name: old.get(name) for name in ("task_id", "queued_at", "seq", "result")}
    common = {**kept, "key": request["idempotency_key"], "client_id": request.get("client_id")}
    if operation == "delete":
        version = request.get("if_match")
        seen = dict(shown) if "version" in shown else {}  # a task only queued for creation
        shown.clear()
        return {**common, "operation": "delete", "if_match": version, "seen": seen}
    changes = {name: value for name, value in old["attempted"].items() if name in EDITABLE}
    if operation == "create":
        shown.update({"id": old["task_id"], **changes})
        return {**common, "operation": "create", "changes": changes, "seen": {}}
    seen = {name: shown.get(name) for name in changes}
    shown.update(changes)
    # Its body is not the one sent under the old key, which the server would refuse
    # (422) if that attempt reached it; if it did apply, the tests fail with the values
    # wanted, which is agreement.
    return {**common, "operation": "edit", "changes": changes, "seen": seen, "key": str(uuid.uuid4())}
