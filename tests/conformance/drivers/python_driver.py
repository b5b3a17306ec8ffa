"""The Python client under the scenarios: each device is a `LiveTasks` in this process,
with a `TasksyncClient` and a SQLite store file of its own, every connection through
the device's proxy (so going offline cuts its TCP connections for real).

Closing the sending process mid-flush is `LiveTasks` and its client closed while a
write is unanswered, then a new pair opened on the same store file: what a restarted
process does.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tasksync_client import Backoff, Conflict, Dropped, LiveTasks, TasksyncClient

from tests.conformance.drivers.base import EDITABLE, STEP_TIMEOUT, DeviceState

# Reconnect quickly: every scenario cuts and restores the network.
FAST = Backoff(initial=0.05, maximum=0.5)


def _json(value: object) -> Any:
    """A value as the wire (and the scenario files) spell it."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, date):
        return value.isoformat()
    return value


def conflict_record(conflict: Conflict) -> dict[str, Any]:
    return {
        "key": conflict.key,
        "task_id": conflict.task_id,
        "field": conflict.field,
        "seen": _json(conflict.seen),
        "wanted": _json(conflict.wanted),
        "server": _json(conflict.server),
    }


def dropped_record(dropped: Dropped) -> dict[str, Any]:
    return {"task_id": dropped.task_id, "reason": dropped.reason}


class PythonDevice:
    """One installation of the Python client: a store file, and the process using it."""

    def __init__(self, name: str, url: str, token: str, store: Path) -> None:
        self.name = name
        self.url = url
        self.token = token
        self.store = store
        self.reported: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []
        self._stack: AsyncExitStack | None = None
        self._live: LiveTasks | None = None

    @property
    def live(self) -> LiveTasks:
        assert self._live is not None, f"device {self.name} is closed"
        return self._live

    async def start(self) -> None:
        stack = AsyncExitStack()
        try:
            client = await stack.enter_async_context(TasksyncClient(self.url, self.token, backoff=FAST))
            self._live = await stack.enter_async_context(
                LiveTasks(
                    client,
                    store=self.store,
                    backoff=FAST,
                    on_conflict=lambda conflict: self.reported.append(conflict_record(conflict)),
                    on_dropped=lambda dropped: self.dropped.append(dropped_record(dropped)),
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def create(self, fields: dict[str, Any]) -> str:
        task = await self.live.create(**fields)
        return task.id

    async def update(self, task_id: str, fields: dict[str, Any]) -> None:
        await self.live.update(task_id, **fields)

    async def replace(self, task_id: str, fields: dict[str, Any]) -> None:
        await self.live.replace(task_id, **fields)

    async def complete(self, task_id: str, completed: bool) -> None:
        await self.live.complete(task_id, completed)

    async def delete(self, task_id: str) -> None:
        await self.live.delete(task_id)

    async def keep_theirs(self, key: str) -> None:
        await self.live.keep_theirs(key)

    async def use_mine(self, key: str) -> None:
        await self.live.use_mine(key)

    async def state(self) -> DeviceState:
        live = self.live
        tasks = {
            task_id: {name: _json(getattr(task, name)) for name in (*EDITABLE, "version")}
            for task_id, task in live.tasks.items()
        }
        return DeviceState(
            tasks=tasks,
            conflicts=[conflict_record(conflict) for conflict in live.conflicts],
            reported=list(self.reported),
            dropped=list(self.dropped),
            seq=live.seq,
            pending=[{"operation": write.operation, "task_id": write.task_id} for write in live.pending],
            connected=live.connected,
            errors=[repr(live.error)] if live.error is not None else [],
        )

    async def flushed(self, timeout: float) -> None:
        await self.live.flushed(timeout=timeout)

    async def prepare_handover(self) -> None:
        # The next process starts after this one has gone, on the same file.
        return None

    async def handover(self) -> None:
        await self.close()
        await self.start()
        await self.live.wait_until(
            lambda live: live.connected or live.error is not None, timeout=STEP_TIMEOUT
        )

    async def close(self) -> None:
        stack, self._stack, self._live = self._stack, None, None
        if stack is not None:
            await stack.aclose()


class PythonDriver:
    """Devices of the Python client for one user; each device's store under `folder`."""

    name = "python"

    def __init__(self, token: str, folder: Path) -> None:
        self.token = token
        self.folder = folder
        self.devices: list[PythonDevice] = []

    async def open(self, name: str, url: str) -> PythonDevice:
        device = PythonDevice(name, url, self.token, self.folder / f"{name}.sqlite")
        await device.start()
        self.devices.append(device)
        return device

    async def close(self) -> None:
        await asyncio.gather(*(device.close() for device in self.devices), return_exceptions=True)

    async def save_evidence(self, test_name: str) -> None:
        # The stores stay in the test's tmp_path; the server logs are in the artifacts.
        return None
