"""Runs one scenario through one driver against a real server: seeds the tasks over
REST, opens each device behind its own proxy, takes the steps in order and checks
each expectation against the server and against every device.

Every wait is for a condition, bounded (`STEP_TIMEOUT`); an expectation is polled
until it holds, since a device learns of the server's state asynchronously, and fails
with what differed the last time it was looked at.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conformance.broken import WholeTaskIfMatch
from tests.conformance.drivers.base import EDITABLE, STEP_TIMEOUT, Device, DeviceState, Driver
from tests.conformance.expectations import Comparison
from tests.conformance.proxy import DeviceProxy
from tests.conformance.scenario import Scenario, ScenarioError, Step
from tests.support import ServerProcess, User, wait_until

# How long an expectation may take to hold once the steps before it are done.
EXPECT_TIMEOUT = 15.0


class ScenarioMismatch(AssertionError):
    """A client did not do what the scenario says (the failure the suite exists for)."""


@dataclass
class Link:
    """A device and the network it is on."""

    device: Device
    proxy: DeviceProxy
    broken: WholeTaskIfMatch | None
    online: bool = True
    losses_asked: int = 0


@dataclass
class Run:
    scenario: Scenario
    driver: Driver
    server: ServerProcess
    user: User
    broken: bool = False
    label: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    links: dict[str, Link] = field(default_factory=dict)
    since: int = 0
    _api: httpx.AsyncClient | None = None

    @property
    def api(self) -> httpx.AsyncClient:
        assert self._api is not None
        return self._api

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.server.url, headers=self.user.headers, timeout=30) as api:
            self._api = api
            try:
                await self._seed()
                for name in self.scenario.devices:
                    await self._open(name)
                for step in self.scenario.steps:
                    await self._take(step)
            except BaseException:
                await self.driver.save_evidence(self.label or self.scenario.name)
                raise
            finally:
                await self.driver.close()
                for link in self.links.values():
                    await link.proxy.close()

    # -- setting up -------------------------------------------------------------------

    async def _seed(self) -> None:
        for alias, fields in self.scenario.seed.items():
            answer = await self.api.post("/api/tasks", json=fields)
            assert answer.status_code == 201, answer.text
            self.ids[alias] = answer.json()["id"]
        self.since = await self._head()

    async def _open(self, name: str) -> None:
        broken = WholeTaskIfMatch() if self.broken else None
        proxy = DeviceProxy(self.server.port, rewrite=broken)
        await proxy.__aenter__()
        device = await self.driver.open(name, proxy.url)
        link = Link(device, proxy, broken)
        self.links[name] = link
        await self._until(link, lambda state: state.connected and state.seq >= self.since, "live and current")

    # -- steps ------------------------------------------------------------------------

    async def _take(self, step: Step) -> None:
        if step.action == "settle":
            await self._settle(step)
        elif step.action == "expect":
            await self._expect(step)
        else:
            assert step.device is not None
            link = self.links[step.device]
            action: Callable[[Link, Any], Awaitable[None]] = getattr(self, f"_{step.action}")
            await action(link, step.arg)

    async def _offline(self, link: Link, _: bool) -> None:
        await link.proxy.refuse()
        link.online = False
        await self._until(link, lambda state: not state.connected, "offline")

    async def _online(self, link: Link, _: bool) -> None:
        await link.proxy.restore()
        link.online = True
        await self._until(link, lambda state: state.connected, "back online")

    async def _lose_next_response(self, link: Link, _: bool) -> None:
        link.proxy.lose_next_write()
        link.losses_asked += 1

    async def _close_mid_flush(self, link: Link, _: bool) -> None:
        pending = (await link.device.state()).pending
        if not pending:
            raise ScenarioError(f"{link.device.name} has nothing queued to close in the middle of")
        lost = link.proxy.lost
        # From here every write the device sends commits but is never answered: the
        # sender is stuck in the middle of its flush, as a closing tab or process is.
        link.proxy.lose_every_write()
        if not link.online:
            await link.proxy.restore()
            link.online = True
        await link.device.prepare_handover()
        await wait_until(
            lambda: link.proxy.lost > lost,
            timeout=STEP_TIMEOUT,
            message=f"{link.device.name} sent none of its {len(pending)} queued writes",
        )
        await link.device.handover()
        link.proxy.keep_writes()

    async def _create(self, link: Link, arg: dict[str, Any]) -> None:
        fields = {name: value for name, value in arg.items() if name != "as"}
        self.ids[arg["as"]] = await link.device.create(fields)

    async def _edit(self, link: Link, arg: dict[str, Any]) -> None:
        task_id, fields = self._target(arg)
        await self._note(link, task_id, fields)
        await link.device.update(task_id, fields)

    async def _replace(self, link: Link, arg: dict[str, Any]) -> None:
        task_id, fields = self._target(arg)
        await self._note(link, task_id, fields)
        await link.device.replace(task_id, fields)

    async def _complete(self, link: Link, arg: dict[str, Any]) -> None:
        task_id, fields = self._target(arg)
        await self._note(link, task_id, fields)
        await link.device.complete(task_id, fields["completed"])

    async def _toggle(self, link: Link, arg: dict[str, Any]) -> None:
        # The user flips a checkbox: what the clients say with `complete` and the value
        # shown (their `toggle` is a deprecated alias of just that).
        task_id, _ = self._target(arg)
        shown = (await link.device.state()).tasks.get(task_id)
        if shown is None:
            raise ScenarioError(f"{link.device.name} shows no task {arg['task']} to toggle")
        completed = not shown["completed"]
        await self._note(link, task_id, {"completed": completed})
        await link.device.complete(task_id, completed)

    async def _delete(self, link: Link, arg: dict[str, Any]) -> None:
        task_id, _ = self._target(arg)
        await link.device.delete(task_id)

    async def _resolve(self, link: Link, arg: dict[str, Any]) -> None:
        task_id = self.ids[arg["task"]]
        found: list[dict[str, Any]] = []

        async def conflict_open() -> bool:
            state = await link.device.state()
            found[:] = [c for c in state.conflicts if c["task_id"] == task_id and c["field"] == arg["field"]]
            return bool(found)

        await self._wait(
            conflict_open, f"{link.device.name} lists no conflict of {arg['task']}/{arg['field']}"
        )
        conflict = found[0]
        if arg["choice"] == "theirs":
            await link.device.keep_theirs(conflict["key"])
            return
        if conflict["field"] is not None:
            await self._note(link, task_id, {conflict["field"]: conflict["wanted"]})
        await link.device.use_mine(conflict["key"])

    def _target(self, arg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return self.ids[arg["task"]], {name: value for name, value in arg.items() if name != "task"}

    async def _note(self, link: Link, task_id: str, fields: dict[str, Any]) -> None:
        """For the broken client: the version shown as the user makes this edit."""
        if link.broken is None:
            return
        shown = (await link.device.state()).tasks.get(task_id)
        if shown is not None:
            link.broken.note(task_id, fields, shown["version"])

    async def _settle(self, step: Step) -> None:
        """Every online device has flushed and reached the server's head, and no write is
        on its way any more (a flush may cause others: a `409`'s fields that held)."""
        online = [link for link in self.links.values() if link.online]
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            for link in online:
                try:
                    await link.device.flushed(max(1.0, deadline - time.monotonic()))
                except Exception as error:
                    state = await link.device.state()
                    raise ScenarioMismatch(
                        f"{step}: {link.device.name} did not flush ({error}); "
                        f"{len(state.pending)} writes pending ({state.pending}), errors {state.errors}"
                    ) from None
            head = await self._head()

            def at_head(state: DeviceState, head: int = head) -> bool:
                return state.seq >= head

            for link in online:
                await self._until(link, at_head, f"at the server's head {head}")
            states = [await link.device.state() for link in online]
            if all(not state.pending for state in states) and await self._head() == head:
                return
            if time.monotonic() > deadline:
                raise ScenarioMismatch(f"{step}: the devices do not settle")

    # -- expectations -----------------------------------------------------------------

    async def _expect(self, step: Step) -> None:
        for link in self.links.values():
            if link.proxy.loss == "next" or link.proxy.lost < link.losses_asked:
                raise ScenarioError(f"{step}: no answer to {link.device.name} was lost as asked")
        differences: list[str] = []

        async def holds() -> bool:
            differences[:] = await self._differences(step.arg)
            return not differences

        await self._wait(holds, lambda: f"{step} does not hold:\n  " + "\n  ".join(differences))

    async def _differences(self, expected: dict[str, Any]) -> list[str]:
        server = await self._server_tasks()
        answer = await self.api.get("/api/changes", params={"since": self.since, "limit": 1000})
        states = {name: await link.device.state() for name, link in self.links.items()}
        return Comparison(self._alias).differences(expected, server, answer.json()["events"], states)

    # -- helpers ----------------------------------------------------------------------

    def _alias(self, task_id: str) -> str:
        return next((alias for alias, known in self.ids.items() if known == task_id), task_id)

    async def _server_tasks(self) -> dict[str, dict[str, Any]]:
        answer = await self.api.get("/api/tasks", params={"limit": 500})
        return {task["id"]: {name: task[name] for name in EDITABLE} for task in answer.json()["items"]}

    async def _head(self) -> int:
        seq: int = (await self.api.get("/api/tasks", params={"limit": 1})).json()["seq"]
        return seq

    async def _until(self, link: Link, condition: Callable[[DeviceState], bool], what: str) -> None:
        last: list[DeviceState] = []

        async def check() -> bool:
            last[:] = [await link.device.state()]
            return condition(last[0])

        def explain() -> str:
            state = last[0] if last else None
            return f"{link.device.name} not {what}: {state}"

        await self._wait(check, explain, timeout=STEP_TIMEOUT)

    async def _wait(
        self,
        condition: Callable[[], Awaitable[bool]],
        message: str | Callable[[], str],
        timeout: float = EXPECT_TIMEOUT,
    ) -> None:
        try:
            await wait_until(condition, timeout=timeout, interval=0.1, message=message)
        except AssertionError as failed:
            raise ScenarioMismatch(str(failed)) from None
