"""The store file on disk: who may read it, who may write it, and what becomes of it
when SQLite cannot read it.

* Private: the file, its `-wal` and `-shm` and its lock files are the user's alone
  (0600), and so is a folder made for it (0700).
* One writer per scope: an open store holds an advisory lock (`flock`) on
  `<name>.<scope digest>.lock`, which the OS releases when the process ends, however
  it ends. A second opener of the scope gets `StoreLockedError`. Opening also holds
  `<name>.lock` for a moment, so that two processes never set the same file aside.
* Damage: a file SQLite cannot read is set aside and a fresh one started, with what
  could still be read of its queue (`store_damage`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tasksync_client.errors import StoreLockedError
from tasksync_client.store_damage import SIDECARS, Quarantined, carry_over, move_aside, salvage, unreported
from tasksync_client.store_schema import migrate

if sys.platform != "win32":
    import fcntl

log = logging.getLogger("tasksync_client")

# Another process (a second instance of the app) may hold the file for a moment.
BUSY_TIMEOUT_SECONDS = 10.0
LOCK_POLL_SECONDS = 0.02
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


@dataclass
class StoreFile:
    """An open store file: its connection, the lock held on one scope, and what was set
    aside for that scope since it was last open."""

    db: sqlite3.Connection
    lock: int | None
    notices: list[Quarantined] = field(default_factory=list)

    def close(self) -> None:
        self.db.close()
        if self.lock is not None:
            os.close(self.lock)  # releases the flock
            self.lock = None


def open_store_file(path: Path, scope: str) -> StoreFile:
    path = path.expanduser()
    _make_folder(path.parent)
    digest = hashlib.sha256(scope.encode()).hexdigest()[:16]
    lock = _lock(path.with_name(f"{path.name}.{digest}.lock"), path, wait=False)
    try:
        opening = _lock(path.with_name(f"{path.name}.lock"), path, wait=True)
        try:
            db = _open_or_replace(path, scope)
        finally:
            _unlock(opening)
        try:
            notices = unreported(db, scope)
        except BaseException:
            db.close()
            raise
    except BaseException:
        _unlock(lock)
        raise
    return StoreFile(db, lock, notices)


# ---- privacy and locks ------------------------------------------------------------------


def _make_folder(folder: Path) -> None:
    """Make the missing folders, 0700. A folder that exists is left as it is: it may be
    the user's home or a shared folder, whose mode is not ours to change."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            made.mkdir(mode=PRIVATE_FOLDER)


def _private(path: Path) -> None:
    """Create the file 0600 if it is missing; a file of ours left readable by others (by
    an earlier client) is made 0600. One owned by another user is left to them."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE))
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SIDECARS)):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if name.stat().st_mode & 0o077:
                name.chmod(PRIVATE_FILE)


def _lock(path: Path, store: Path, *, wait: bool) -> int | None:
    if sys.platform == "win32":
        return None  # flock is POSIX: on Windows nothing stops a second writer
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if not wait or time.monotonic() > deadline:
                os.close(fd)
                held = "is being opened by another process" if wait else "is open for this user elsewhere"
                raise StoreLockedError(f"the store {store} {held}") from None
            time.sleep(LOCK_POLL_SECONDS)


def _unlock(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


# ---- opening, or setting a damaged file aside -------------------------------------------


class _Unreadable(sqlite3.DatabaseError):
    """`PRAGMA quick_check` found damage."""


def _open_or_replace(path: Path, scope: str) -> sqlite3.Connection:
    _private(path)
    try:
        return _connect(path)
    except sqlite3.DatabaseError as exc:
        if not (isinstance(exc, _Unreadable) or exc.sqlite_errorname in ("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            raise
        reason = f"SQLite could not read the store file ({exc})"
    moved = move_aside(path)
    salvaged = salvage(moved)
    _private(path)
    db = _connect(path)
    try:
        carry_over(db, salvaged, reason, moved, salvaged.scopes | {scope})
    except BaseException:
        db.close()
        raise
    log.warning("store: %s; moved to %s", reason, moved, extra={"moved_to": str(moved)})
    return db


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
    try:
        # WAL: a reader in another process never blocks the writer. FULL: a write the
        # app was told is queued survives a power cut too (NORMAL may lose the last ones).
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        # SQLite notices damage only on the pages it reads: look at them all now, while
        # the file can still be set aside whole, rather than fail a write mid-session.
        found = [row[0] for row in db.execute("PRAGMA quick_check")]
        if found != ["ok"]:
            raise _Unreadable("; ".join(found[:3]))
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db
