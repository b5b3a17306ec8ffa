"""What is set aside when the store file, or a row in it, cannot be read: the
`Quarantined` reports, the `quarantine` table that keeps damaged rows, and the salvage
of a file SQLite cannot read (moved aside; its readable queue carried into a fresh one).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

log = logging.getLogger("tasksync_client")

SIDECARS = ("-wal", "-shm")
# Skipping damaged pages of a table doubles its stride up to the largest rowid.
LAST_ROWID = 2**63 - 1

Kind = Literal["write", "conflict", "task", "file"]


@dataclass(frozen=True, slots=True)
class Quarantined:
    """Something in the store file that could not be read, set aside so the rest can be.

    `kind` is `"write"`, `"conflict"` or `"task"` for one damaged row: taken out of the
    queue, the conflicts or the mirror (which then reloads from the server) and kept in
    the file's `quarantine` table; `key` is its key or task id, `content` what was
    stored. `"file"` is a file SQLite could not read at all: it was renamed `moved_to`
    and the queued writes and conflicts still readable in it were carried into a fresh
    file; `reason` says how many, the rest is lost.

    `for item in live.quarantined: print(item.kind, item.key or item.moved_to, item.reason)`
    """

    kind: Kind
    reason: str
    key: str | None = None
    content: str | None = None
    moved_to: str | None = None


def set_aside(
    db: sqlite3.Connection, scope: str, kind: Kind, key: str, content: bytes, reason: str
) -> Quarantined:
    """Keep a damaged row in the quarantine table (the caller deletes it where it was)."""
    db.execute(
        "INSERT INTO quarantine (scope, what, key, content, reason, reported) VALUES (?, ?, ?, ?, ?, 1)",
        (scope, kind, key, content, reason),
    )
    return _quarantined(kind, reason, key, content, None)


def report(items: Iterable[Quarantined]) -> None:
    for item in items:
        log.warning(
            "store: set aside %s %s: %s",
            item.kind,
            item.key or item.moved_to,
            item.reason,
            extra={"quarantined": item},
        )


def _quarantined(
    kind: str, reason: str, key: str | None, content: bytes | None, moved_to: str | None
) -> Quarantined:
    text = content.decode("utf-8", "replace") if content is not None else None
    return Quarantined(cast(Kind, kind), reason, key, text, moved_to)


def unreported(db: sqlite3.Connection, scope: str) -> list[Quarantined]:
    with db:
        rows = db.execute(
            "SELECT what, reason, key, CAST(content AS BLOB), moved_to FROM quarantine"
            " WHERE scope = ? AND reported = 0 ORDER BY position",
            (scope,),
        ).fetchall()
        db.execute("UPDATE quarantine SET reported = 1 WHERE scope = ? AND reported = 0", (scope,))
    return [_quarantined(*row) for row in rows]


def move_aside(path: Path) -> Path:
    """Rename the file, and its `-wal` and `-shm` (which belong to it), `<name>.corrupt-<time>`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    moved = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", *SIDECARS):
        with contextlib.suppress(FileNotFoundError):
            os.replace(f"{path}{suffix}", f"{moved}{suffix}")
    return moved


@dataclass
class Salvage:
    writes: list[tuple[Any, ...]]
    conflicts: list[tuple[Any, ...]]
    scopes: set[str]


def salvage(moved: Path) -> Salvage:
    """What a copy of the damaged file still yields: every scope's queued writes and
    conflicts, and the scopes it mirrored."""
    found = Salvage([], [], set())
    # The copy stays in the store's folder: it holds the user's data.
    with tempfile.TemporaryDirectory(dir=moved.parent) as folder:
        copy = Path(folder) / "copy.sqlite"
        for suffix in ("", "-wal"):
            with contextlib.suppress(FileNotFoundError):
                shutil.copyfile(f"{moved}{suffix}", f"{copy}{suffix}")
        with open(copy, "r+b") as file:
            # A truncated file's header still counts the pages it lost, and SQLite then
            # refuses every page; with the count zeroed it counts the pages there are.
            if file.read(16) == b"SQLite format 3\x00":
                file.seek(28)
                file.write(bytes(4))
        db = sqlite3.connect(copy)
        try:
            found.writes = _readable(db, "SELECT position, scope, key, CAST(write AS BLOB) FROM outbox")
            found.conflicts = _readable(
                db, "SELECT position, scope, key, CAST(conflict AS BLOB) FROM conflicts"
            )
            mirrored = _readable(db, "SELECT rowid, scope FROM mirrors")
        finally:
            db.close()
    found.scopes = {scope for (scope, *_) in [*found.writes, *found.conflicts, *mirrored]}
    return found


def _readable(db: sqlite3.Connection, select: str) -> list[tuple[Any, ...]]:
    """The rows of a table (without their rowid) that SQLite can still read, in order,
    stepping over damaged pages with a stride that doubles while they go on."""
    rows: list[tuple[Any, ...]] = []
    start, stride = 0, 1
    while start <= LAST_ROWID:
        try:
            for rowid, *row in db.execute(f"{select} WHERE rowid >= ? ORDER BY rowid", (start,)):
                if isinstance(row[0], str):  # a scope
                    rows.append(tuple(row))
                start, stride = rowid + 1, 1
            return rows
        except sqlite3.DatabaseError as exc:
            if exc.sqlite_errorname != "SQLITE_CORRUPT":
                return rows  # not a database, or no such table: nothing more to read
            start, stride = start + stride, stride * 2
    return rows


def carry_over(db: sqlite3.Connection, salvaged: Salvage, reason: str, moved: Path, scopes: set[str]) -> None:
    with db:
        db.executemany("INSERT OR IGNORE INTO outbox (scope, key, write) VALUES (?, ?, ?)", salvaged.writes)
        db.executemany(
            "INSERT OR IGNORE INTO conflicts (scope, key, conflict) VALUES (?, ?, ?)", salvaged.conflicts
        )
        for scope in sorted(scopes):
            writes = sum(row[0] == scope for row in salvaged.writes)
            conflicts = sum(row[0] == scope for row in salvaged.conflicts)
            told = (
                f"{reason}; {writes} queued writes and {conflicts} conflicts were recovered from it,"
                " anything else it held is lost"
            )
            db.execute(
                "INSERT INTO quarantine (scope, what, reason, moved_to) VALUES (?, 'file', ?, ?)",
                (scope, told, str(moved)),
            )
