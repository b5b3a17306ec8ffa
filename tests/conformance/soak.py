"""The merge soak: a seeded random workload of three devices of one user — two browsers
(two Chromium contexts, `BrowserDriver`) and one Python client (`PythonDriver`), each
behind its own `DeviceProxy` — on a few shared tasks, audited at the end (soak_audit.py):
every device shows what the server has, no edit was lost without being reported, and
no conflict was reported that no other device caused.

Each round a random device goes offline (its proxy refuses), comes back, settles one of
its open conflicts ("mine" or "theirs"), or makes an op on a task it shows: an edit of
one field to a new unique value (`A-17`, a due date no one wrote before), a complete (a
random `completed`), rarely a delete or a create. At the end every device comes back
online and settles (flushed, at the server's head, nothing pending); nothing more is
resolved.

The seed fixes every random draw (which device, what it does, which of the tasks it
shows); what a device shows at that moment depends on timing, so two runs of one seed
are alike, not identical. The suite runs a short fixed seed
(test_merge_soak.py); `python -m bench.merge_soak` a long one, also with the broken
client of broken.py.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser

from tests.conformance.drivers.base import Device, DeviceState, Driver
from tests.conformance.drivers.browser_driver import BrowserDriver
from tests.conformance.drivers.python_driver import PythonDriver
from tests.conformance.runner import Link, Run, ScenarioMismatch
from tests.conformance.scenario import Scenario, Step
from tests.conformance.soak_audit import Audit, Auditor, Create, Delete, Edit, Ledger
from tests.support import ServerProcess, User

# Each device: its name, its client, and the prefix of the text values it writes.
DEVICES = (("browser-a", "browser", "A"), ("browser-b", "browser", "B"), ("python", "python", "P"))
FIELDS = ("title", "description", "due_date")
OPS = ("edit", "complete", "delete", "create")
OP_WEIGHTS = (70, 18, 6, 6)
FIRST_DUE = date(2031, 1, 1)
# Deletes stop below this many tasks shown, so that there is always something to edit.
FEWEST_TASKS = 3


@dataclass(frozen=True)
class Workload:
    ops: int = 40
    seed: int = 1
    tasks: int = 4
    # Per round of a device: the chance that it goes offline (when online), that it comes
    # back (when offline), that it settles one of its open conflicts (when it has one).
    cut: float = 0.12
    back: float = 0.4
    resolve: float = 0.3
    # The longest pause between rounds, in seconds: long enough for writes and events to
    # cross between ops, so that edits meet each other in flight and not only offline.
    think: float = 0.15


@dataclass
class Counts:
    cuts: int = 0
    creates: int = 0
    deletes: int = 0
    resolves: int = 0
    # A complete to the value already shown (nothing to send), and an op whose task
    # disappeared (deleted elsewhere) between looking at it and making the op.
    no_ops: int = 0
    vanished: int = 0


@dataclass
class SoakResult:
    audit: Audit
    counts: Counts
    seconds: float


class Fleet:
    """One driver over several: each device opened by the driver of its client."""

    name = "fleet"

    def __init__(self, by_device: dict[str, Driver]) -> None:
        self.by_device = by_device
        self.drivers = list({id(driver): driver for driver in by_device.values()}.values())

    async def open(self, name: str, url: str) -> Device:
        return await self.by_device[name].open(name, url)

    async def close(self) -> None:
        for driver in self.drivers:
            await driver.close()

    async def save_evidence(self, test_name: str) -> None:
        for driver in self.drivers:
            await driver.save_evidence(test_name)


def fleet(browser: Browser, token: str, folder: Path, evidence: Path) -> dict[str, Driver]:
    """The soak's devices: name → the driver that opens it."""
    drivers: dict[str, Driver] = {
        "browser": BrowserDriver(browser, token, evidence),
        "python": PythonDriver(token, folder),
    }
    return {name: drivers[client] for name, client, _ in DEVICES}


@dataclass
class Soak(Run):
    """A `Run` whose steps are drawn at random as it goes, and audited at the end."""

    workload: Workload = field(default_factory=Workload)
    ledger: Ledger = field(default_factory=Ledger)
    counts: Counts = field(default_factory=Counts)
    clock: int = 0
    serial: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.workload.seed)

    @classmethod
    def of(
        cls,
        drivers: dict[str, Driver],
        server: ServerProcess,
        user: User,
        workload: Workload,
        *,
        broken: bool = False,
    ) -> Soak:
        seed = {f"t{n}": {"title": f"seed-{n}"} for n in range(1, workload.tasks + 1)}
        scenario = Scenario("merge-soak", "a seeded random workload", tuple(drivers), seed, ())
        label = f"merge-soak-{workload.seed}" + ("-broken" if broken else "")
        return cls(scenario, Fleet(drivers), server, user, broken=broken, label=label, workload=workload)

    async def soak(self) -> SoakResult:
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.server.url, headers=self.user.headers, timeout=30) as api:
            self._api = api
            try:
                await self._seed()
                for name in self.scenario.devices:
                    await self._open(name)
                ops = 0
                while ops < self.workload.ops:
                    self.clock += 1
                    ops += await self._round()
                await self._finish()
                audit = await self._audit()
            except BaseException:
                await self.driver.save_evidence(self.label)
                raise
            finally:
                await self.driver.close()
                for link in self.links.values():
                    await link.proxy.close()
        return SoakResult(audit, self.counts, time.monotonic() - started)

    # -- a round ----------------------------------------------------------------------

    async def _round(self) -> bool:
        """One device's turn; True if it made an op (or settled a conflict)."""
        # Every draw is taken whatever happens, so that a seed's choices do not shift
        # with what the devices happen to show.
        rng = self.rng
        name = rng.choice(self.scenario.devices)
        network, settle, pick, flag = rng.random(), rng.random(), rng.random(), rng.random() < 0.5
        op = rng.choices(OPS, OP_WEIGHTS)[0]
        edited = rng.choice(FIELDS)
        think = rng.uniform(0, self.workload.think)
        link = self.links[name]
        made = False
        if link.online and network < self.workload.cut:
            await self._offline(link, True)
            self.counts.cuts += 1
        elif not link.online and network < self.workload.back:
            # The device reconnects by its own backoff from here, as it would.
            await link.proxy.restore()
            link.online = True
        else:
            states = await self._observe()
            state = states[name]
            if state.conflicts and settle < self.workload.resolve:
                await self._settle_one(link, state.conflicts[int(pick * len(state.conflicts))], flag)
            else:
                await self._op(link, state, op, pick, edited, flag)
            made = True
        await asyncio.sleep(think)
        return made

    async def _observe(self) -> dict[str, DeviceState]:
        states = {name: await link.device.state() for name, link in self.links.items()}
        for name, state in states.items():
            self.ledger.observe(name, state, self.clock)
        return states

    async def _op(
        self, link: Link, state: DeviceState, op: str, pick: float, edited: str, flag: bool
    ) -> None:
        shown = sorted(state.tasks)
        if not shown:
            op = "create"
        elif op == "delete" and len(shown) < FEWEST_TASKS:
            op = "edit"
        name = link.device.name
        if op == "create":
            fields = {"title": self._value(name, "title"), "description": self._value(name, "description")}
            task_id = await link.device.create(fields)
            self.ledger.creates.append(Create(name, task_id, self.clock))
            self.counts.creates += 1
            return
        task_id = shown[int(pick * len(shown))]
        if op == "delete":
            if await self._made(link, task_id, lambda: link.device.delete(task_id), removes=True):
                self.ledger.deletes.append(Delete(name, task_id, self.clock))
                self.counts.deletes += 1
        elif op == "complete":
            if state.tasks[task_id]["completed"] == flag:
                self.counts.no_ops += 1
                return
            await self._set_field(
                link, task_id, "completed", flag, lambda: link.device.complete(task_id, flag)
            )
        else:
            value = self._value(name, edited)
            await self._set_field(
                link, task_id, edited, value, lambda: link.device.update(task_id, {edited: value})
            )

    async def _settle_one(self, link: Link, conflict: dict[str, Any], mine: bool) -> None:
        self.counts.resolves += 1
        if not mine:
            await link.device.keep_theirs(conflict["key"])
            return
        task_id, name, key = conflict["task_id"], conflict["field"], conflict["key"]
        if name is None:
            if await self._made(link, task_id, lambda: link.device.use_mine(key), removes=True):
                self.ledger.deletes.append(Delete(link.device.name, task_id, self.clock))
        else:
            await self._set_field(link, task_id, name, conflict["wanted"], lambda: link.device.use_mine(key))

    async def _set_field(
        self, link: Link, task_id: str, name: str, value: Any, call: Callable[[], Awaitable[None]]
    ) -> None:
        head = await self._head()
        await self._note(link, task_id, {name: value})
        if await self._made(link, task_id, call):
            self.ledger.edits.append(Edit(link.device.name, task_id, name, value, self.clock, head))

    async def _made(
        self, link: Link, task_id: str, call: Callable[[], Awaitable[None]], *, removes: bool = False
    ) -> bool:
        """Make the call; False if the task was gone by then (deleted elsewhere after the
        device was looked at: the client refuses, or a "mine" has nothing left to do)."""
        try:
            await call()
        except Exception:
            if task_id in (await link.device.state()).tasks:
                raise
            self.counts.vanished += 1
            return False
        if removes or task_id in (await link.device.state()).tasks:
            return True
        self.counts.vanished += 1
        return False

    def _value(self, device: str, name: str) -> str:
        """A value of `name` that no one has written before, and who writes it."""
        self.serial += 1
        prefix = next(prefix for known, _, prefix in DEVICES if known == device)
        if name == "due_date":
            value = (FIRST_DUE + timedelta(days=self.serial)).isoformat()
        else:
            value = f"{prefix}-{self.serial}"
        self.ledger.authors[(name, value)] = device
        return value

    # -- the end ----------------------------------------------------------------------

    async def _finish(self) -> None:
        for link in self.links.values():
            if not link.online:
                await self._online(link, True)
        await self._settle(Step("settle", None, True, self.clock))
        try:
            await self._wait(self._all_equal, "the devices show what the server has")
        except ScenarioMismatch:
            pass  # the audit says how they differ

    async def _all_equal(self) -> bool:
        server = await self._server_tasks()
        for link in self.links.values():
            state = await link.device.state()
            shown = {
                task_id: {n: task[n] for n in server.get(task_id, {})}
                for task_id, task in state.tasks.items()
            }
            if shown != server:
                return False
        return True

    async def _audit(self) -> Audit:
        self.clock += 1  # what the devices list now comes after every op
        states = await self._observe()
        client_ids = {
            name: {request.header("X-Client-Id") or "" for request in link.proxy.writes} - {""}
            for name, link in self.links.items()
        }
        return Auditor(self.ledger, await self._log(), states, client_ids, await self._server_tasks()).audit()

    async def _log(self) -> list[dict[str, Any]]:
        """The user's whole change log, the seed's creates included."""
        events: list[dict[str, Any]] = []
        while True:
            since = events[-1]["seq"] if events else 0
            page = (await self.api.get("/api/changes", params={"since": since, "limit": 1000})).json()[
                "events"
            ]
            if not page:
                return events
            events += page
