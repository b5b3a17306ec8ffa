"""The tables of the store file and how a file of an older schema is brought up to date.

`PRAGMA user_version` records the schema a file has reached; `migrate` takes it to
`SCHEMA_VERSION` in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

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
        "CREATE TABLE IF NOT EXISTS conflicts (position INTEGER PRIMARY KEY AUTOINCREMENT,"
        " scope TEXT NOT NULL, key TEXT NOT NULL, conflict TEXT NOT NULL, UNIQUE (scope, key))"
    )
    shown: dict[tuple[str, str], dict[str, Any]] = {}
    for scope, task_id, text in db.execute("SELECT scope, id, task FROM tasks"):
        try:
            shown[scope, task_id] = json_loads(text)
        except ValueError:
            continue  # a damaged task is set aside when the mirror is loaded
    rows = db.execute("SELECT position, scope, write FROM outbox ORDER BY position").fetchall()
    for position, scope, text in rows:
        try:
            old = json_loads(text)
            new = _v1_write(old, shown.setdefault((scope, old["task_id"]), {}))
        except Exception:  # any damage: the load sets the row aside, with its text
            continue
        db.execute(
            "UPDATE outbox SET key = ?, write = ? WHERE position = ?",
            (new["key"], json_dumps(new), position),
        )


# Each entry upgrades the file from the schema version of its index to the next one.
# `IF NOT EXISTS`: clients before this one created tables outside a transaction, so a
# file they were stopped in the middle of creating has some tables and an old version.
MIGRATIONS: tuple[Migration, ...] = (
    _statements(
        "CREATE TABLE IF NOT EXISTS mirrors (scope TEXT PRIMARY KEY, seq INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS tasks (scope TEXT NOT NULL, id TEXT NOT NULL,"
        " task TEXT NOT NULL, PRIMARY KEY (scope, id))",
        "CREATE TABLE IF NOT EXISTS outbox (position INTEGER PRIMARY KEY AUTOINCREMENT,"
        " scope TEXT NOT NULL, key TEXT NOT NULL, write TEXT NOT NULL, UNIQUE (scope, key))",
    ),
    _field_edits,
    # Schema 3: rows that could not be read, kept out of the way with their content.
    # `reported` is 0 until the scope's next open has reported the row.
    _statements(
        "CREATE TABLE quarantine (position INTEGER PRIMARY KEY AUTOINCREMENT,"
        " scope TEXT NOT NULL, what TEXT NOT NULL, key TEXT, content BLOB, reason TEXT NOT NULL,"
        " moved_to TEXT, reported INTEGER NOT NULL DEFAULT 0)"
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
EDITABLE = ("title", "description", "completed", "due_date")


def migrate(db: sqlite3.Connection) -> None:
    """Bring the file to `SCHEMA_VERSION`, all or nothing.

    `BEGIN IMMEDIATE` takes the write lock before the version is read: of several
    processes opening a new file at once, one creates the tables while the others wait
    (the busy timeout) and then find them made. SQLite's DDL is transactional, so a
    crash in the middle leaves the file as it was before.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ValueError(f"this store was written by a newer client (schema {version})")
        for upgrade in MIGRATIONS[version:]:
            upgrade(db)
        if version != SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.commit()
    except BaseException:
        db.rollback()
        raise


def json_dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_loads(text: str | bytes) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a stored row is not a JSON object")
    return value


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
