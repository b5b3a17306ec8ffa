"""What the scenario runner asks of a client: one interface, two drivers.

A driver opens *devices*; a device is one client installation (a Python process with
its own SQLite store, a browser profile with its own IndexedDB) whose every
connection goes through the URL it is given (the scenario's proxy for that device).
Everything a device reports comes back as plain JSON in the scenario files' terms,
so that one comparison serves both clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# The fields a user edits, in the contract's order.
EDITABLE = ("title", "description", "completed", "due_date")

# Bounds that end a step which would hang; they time nothing. A browser's socket comes
# back with backoff (up to 15 s after an outage) and its queue's retry waits up to 10 s.
STEP_TIMEOUT = 45.0


@dataclass
class DeviceState:
    """A device as the user would find it now.

    `tasks`: id → the task shown (editable fields and `version`); `conflicts`: the open
    ones, each `{key, task_id, field, seen, wanted, server}`; `reported`: every
    conflict `on_conflict` was called with, in order; `dropped`: every `on_dropped`
    report as `{task_id, reason}`; `pending`: the client's `pending`, the queued writes
    not taken by the server yet, oldest first, each as `{operation, task_id}`;
    `connected`: live on the server now.
    """

    tasks: dict[str, dict[str, Any]]
    conflicts: list[dict[str, Any]]
    reported: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    seq: int
    pending: list[dict[str, Any]]
    connected: bool
    errors: list[str] = field(default_factory=list)


class Device(Protocol):
    """A device's writes call the client's method of the same name (in the browser,
    camelCased): the names the clients' READMEs tell users to use, never a deprecated
    alias."""

    name: str

    async def create(self, fields: dict[str, Any]) -> str:
        """Create a task (queued, shown at once); returns its id."""
        ...

    async def update(self, task_id: str, fields: dict[str, Any]) -> None: ...

    async def replace(self, task_id: str, fields: dict[str, Any]) -> None: ...

    async def complete(self, task_id: str, completed: bool) -> None: ...

    async def delete(self, task_id: str) -> None: ...

    async def keep_theirs(self, key: str) -> None: ...

    async def use_mine(self, key: str) -> None: ...

    async def state(self) -> DeviceState: ...

    async def flushed(self, timeout: float) -> None:
        """Return once every queued write is answered and its echo seen."""
        ...

    async def prepare_handover(self) -> None:
        """Open what will take over the queue when the sending instance closes (a second
        tab of the browser profile; nothing for a process, which is started after)."""
        ...

    async def handover(self) -> None:
        """Close the instance that is sending the queue, abruptly, and leave the device
        to the next instance on the same storage."""
        ...

    async def close(self) -> None: ...


class Driver(Protocol):
    """Opens devices of one client for one user."""

    name: str

    async def open(self, name: str, url: str) -> Device: ...

    async def close(self) -> None: ...

    async def save_evidence(self, test_name: str) -> None:
        """Keep what helps explain a failed scenario (screenshots, consoles)."""
        ...
