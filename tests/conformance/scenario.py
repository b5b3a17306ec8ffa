"""Scenario files (tests/conformance/scenarios/*.json), read and checked before a run,
so that a typo in a file is a clear error and never a scenario that tests less than it
says. The format is described in tests/conformance/README.md."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conformance.drivers.base import EDITABLE

# Steps a device takes; the value of the key is the step's argument (`true` for flags).
FLAGS = ("offline", "online", "lose_next_response", "close_mid_flush")
WRITES = ("create", "edit", "replace", "complete", "toggle", "delete", "resolve")
DEVICE_ACTIONS = FLAGS + WRITES
# Steps of the whole world.
WORLD_ACTIONS = ("settle", "expect")

_EXPECT_KEYS = {"server", "events", "devices"}
_DEVICE_EXPECT_KEYS = {"shows", "conflicts", "dropped"}
_CONFLICT_KEYS = {"task", "field", "seen", "wanted", "server"}
_EVENT_KEYS = {"type", "task", "changed"}
_EVENT_TYPES = {"task.created", "task.updated", "task.deleted"}


class ScenarioError(ValueError):
    """A scenario file that does not follow the format (a bug of the file, not of a client)."""


@dataclass(frozen=True)
class Step:
    action: str
    device: str | None
    arg: Any
    index: int

    def __str__(self) -> str:
        who = f"{self.device}: " if self.device else ""
        return f"step {self.index + 1} ({who}{self.action} {json.dumps(self.arg)})"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    devices: tuple[str, ...]
    seed: dict[str, dict[str, Any]]
    steps: tuple[Step, ...]


def load(path: Path) -> Scenario:
    data = json.loads(path.read_text(encoding="utf-8"))
    try:
        return _scenario(path.stem, data)
    except ScenarioError as error:
        raise ScenarioError(f"{path.name}: {error}") from None


def _scenario(name: str, data: Any) -> Scenario:
    _keys(data, "the scenario", required={"description", "devices", "steps"}, allowed={"seed"})
    devices = data["devices"]
    if not (isinstance(devices, list) and devices and all(isinstance(d, str) for d in devices)):
        raise ScenarioError("devices: a non-empty list of names")
    if len(set(devices)) != len(devices):
        raise ScenarioError("devices: names must differ")
    seed = data.get("seed", {})
    _keys(seed, "seed", allowed=set(seed) if isinstance(seed, dict) else set())
    known = set(seed)
    for alias, fields in seed.items():
        _fields(fields, f"seed {alias}", required={"title"})
    if not isinstance(data["steps"], list) or not data["steps"]:
        raise ScenarioError("steps: a non-empty list")
    steps = tuple(_step(raw, index, devices, known) for index, raw in enumerate(data["steps"]))
    if steps[-1].action != "expect":
        raise ScenarioError("the last step must be an expect")
    return Scenario(name, data["description"], tuple(devices), seed, steps)


def _step(raw: Any, index: int, devices: list[str], known: set[str]) -> Step:
    where = f"step {index + 1}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: an object")
    actions = [key for key in raw if key in DEVICE_ACTIONS + WORLD_ACTIONS]
    if len(actions) != 1:
        raise ScenarioError(f"{where}: exactly one action of {DEVICE_ACTIONS + WORLD_ACTIONS}")
    action = actions[0]
    arg = raw[action]
    device = raw.get("device")
    if action in WORLD_ACTIONS:
        _keys(raw, where, required={action}, allowed={"comment"})
    else:
        _keys(raw, where, required={action, "device"}, allowed={"comment"})
        if device not in devices:
            raise ScenarioError(f"{where}: device {device!r} is not one of {devices}")
    if action in FLAGS or action == "settle":
        if arg is not True:
            raise ScenarioError(f"{where}: {action} takes true")
    elif action == "expect":
        _expectation(arg, where, devices, known)
    else:
        _write(action, arg, where, known)
    return Step(action, device, arg, index)


def _write(action: str, arg: Any, where: str, known: set[str]) -> None:
    if action == "create":
        _keys(arg, where, required={"as", "title"}, allowed=set(EDITABLE))
        if arg["as"] in known:
            raise ScenarioError(f"{where}: task {arg['as']!r} exists already")
        known.add(arg["as"])
        _fields({k: v for k, v in arg.items() if k != "as"}, where, required={"title"})
        return
    _keys(arg, where, required={"task"}, allowed=set(EDITABLE) | {"field", "choice"})
    if arg["task"] not in known:
        raise ScenarioError(f"{where}: task {arg['task']!r} is neither seeded nor created before")
    fields = {k: v for k, v in arg.items() if k != "task"}
    if action == "edit":
        if not fields:
            raise ScenarioError(f"{where}: an edit changes at least one field")
        _fields(fields, where)
    elif action == "replace":
        _fields(fields, where, required={"title"})
    elif action == "complete":
        _keys(fields, where, required={"completed"})
        _fields(fields, where)
    elif action in ("toggle", "delete"):
        _keys(fields, where)
    elif action == "resolve":
        _keys(fields, where, required={"field", "choice"})
        if fields["field"] is not None and fields["field"] not in EDITABLE:
            raise ScenarioError(f"{where}: field is one of {EDITABLE} or null (a delete)")
        if fields["choice"] not in ("mine", "theirs"):
            raise ScenarioError(f"{where}: choice is mine or theirs")


def _expectation(arg: Any, where: str, devices: list[str], known: set[str]) -> None:
    _keys(arg, where, allowed=_EXPECT_KEYS)
    if "server" in arg:
        _tasks(arg["server"], f"{where} server", known)
    events = arg.get("events")
    if isinstance(events, list):
        for event in events:
            _keys(event, f"{where} events", required={"type", "task"}, allowed=_EVENT_KEYS)
            if event["type"] not in _EVENT_TYPES or event["task"] not in known:
                raise ScenarioError(f"{where} events: {event}")
    elif events is not None and not (isinstance(events, int) and not isinstance(events, bool)):
        raise ScenarioError(f"{where} events: a count or a list of events")
    expected_devices = arg.get("devices", {})
    _keys(expected_devices, f"{where} devices", allowed=set(devices))
    for name, expected in expected_devices.items():
        here = f"{where} {name}"
        _keys(expected, here, allowed=_DEVICE_EXPECT_KEYS)
        if "shows" in expected:
            _tasks(expected["shows"], f"{here} shows", known)
        for conflict in expected.get("conflicts", []):
            _keys(conflict, f"{here} conflicts", required={"task", "field"}, allowed=_CONFLICT_KEYS)
            if conflict["task"] not in known:
                raise ScenarioError(f"{here} conflicts: unknown task {conflict['task']!r}")
        for dropped in expected.get("dropped", []):
            _keys(dropped, f"{here} dropped", required={"task", "reason"})
            if dropped["reason"] not in ("missing", "rejected") or dropped["task"] not in known:
                raise ScenarioError(f"{here} dropped: {dropped}")


def _tasks(tasks: Any, where: str, known: set[str]) -> None:
    _keys(tasks, where, allowed=known)
    for alias, fields in tasks.items():
        _fields(fields, f"{where} {alias}")


def _fields(fields: Any, where: str, required: set[str] | None = None) -> None:
    _keys(fields, where, required=required or set(), allowed=set(EDITABLE))


def _keys(
    value: Any, where: str, *, required: set[str] | None = None, allowed: set[str] | None = None
) -> None:
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: an object")
    required = required or set()
    missing = required - set(value)
    unknown = set(value) - required - (allowed or set())
    if missing or unknown:
        raise ScenarioError(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}")
