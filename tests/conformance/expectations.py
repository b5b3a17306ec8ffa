"""What an `expect` step compares: the server's tasks and event log, and each device's
tasks, conflicts and reports, in the scenario files' terms (task aliases, JSON
values). Each difference is one line saying what was found and what was expected."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.conformance.drivers.base import EDITABLE, DeviceState

Tasks = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Comparison:
    """Compares with `alias` translating task ids back to the scenario's names."""

    alias: Callable[[str], str]

    def differences(
        self,
        expected: dict[str, Any],
        server: Tasks,
        events: list[dict[str, Any]],
        states: dict[str, DeviceState],
    ) -> list[str]:
        found: list[str] = []
        if "server" in expected:
            found += [f"server: {d}" for d in self.tasks(expected["server"], server)]
        if "events" in expected:
            found += self.events(expected["events"], events)
        server_view = {self.alias(task_id): fields for task_id, fields in server.items()}
        for name, state in states.items():
            wanted = expected.get("devices", {}).get(name, {})
            if "shows" in wanted:
                found += [f"{name} shows: {d}" for d in self.tasks(wanted["shows"], state.tasks)]
            elif (shown := self.shown(state)) != server_view:
                found.append(f"{name} shows {dump(shown)}, the server has {dump(server_view)}")
            found += [f"{name}: {d}" for d in self.conflicts(wanted.get("conflicts", []), state)]
            dropped = sorted((self.alias(d["task_id"]), d["reason"]) for d in state.dropped)
            wanted_dropped = sorted((d["task"], d["reason"]) for d in wanted.get("dropped", []))
            if dropped != wanted_dropped:
                found.append(f"{name} reported dropped {dropped}, expected {wanted_dropped}")
            if state.errors:
                found.append(f"{name} failed: {state.errors}")
        return found

    def shown(self, state: DeviceState) -> Tasks:
        return {
            self.alias(task_id): {name: task.get(name) for name in EDITABLE}
            for task_id, task in state.tasks.items()
        }

    def tasks(self, expected: Tasks, actual: Tasks) -> list[str]:
        """Exactly the expected tasks exist, and each has the fields given."""
        found: list[str] = []
        by_alias = {self.alias(task_id): task for task_id, task in actual.items()}
        if set(by_alias) != set(expected):
            found.append(f"tasks {sorted(by_alias)}, expected {sorted(expected)}")
        for alias, fields in expected.items():
            task = by_alias.get(alias, {})
            for name, value in fields.items():
                if alias in by_alias and not same(task.get(name), value):
                    found.append(f"{alias}.{name} is {dump(task.get(name))}, expected {dump(value)}")
        return found

    def events(self, expected: int | list[dict[str, Any]], events: list[dict[str, Any]]) -> list[str]:
        log = [
            {"type": e["type"], "task": self.alias(e["task"]["id"]), "changed": e.get("changed")}
            for e in events
        ]
        if isinstance(expected, int):
            return [] if len(log) == expected else [f"{len(log)} events, expected {expected}: {dump(log)}"]
        matches = len(log) == len(expected) and all(
            all(same(got.get(key), value) for key, value in want.items())
            for got, want in zip(log, expected, strict=False)
        )
        return [] if matches else [f"events {dump(log)}, expected {dump(expected)}"]

    def conflicts(self, expected: list[dict[str, Any]], state: DeviceState) -> list[str]:
        """Exactly the expected conflicts are open, each reported, none reported twice."""
        found: list[str] = []
        actual = [dict(c, task=self.alias(c["task_id"])) for c in state.conflicts]
        unmatched = list(actual)
        for want in expected:
            match = next((c for c in unmatched if _conflict_matches(want, c)), None)
            if match is None:
                found.append(f"no conflict like {dump(want)} among {dump(actual)}")
            else:
                unmatched.remove(match)
        found += [f"unexpected conflict {dump(c)}" for c in unmatched]
        reports = [dump([c["key"], c["seen"], c["wanted"]]) for c in state.reported]
        twice = sorted(r for r in set(reports) if reports.count(r) > 1)
        found += [f"conflict reported more than once: {r}" for r in twice]
        reported = {c["key"] for c in state.reported}
        found += [f"conflict {c['key']} listed, never reported" for c in actual if c["key"] not in reported]
        return found


def _conflict_matches(want: dict[str, Any], got: dict[str, Any]) -> bool:
    for key, value in want.items():
        actual = got.get(key)
        if isinstance(value, dict) and isinstance(actual, dict):
            # A delete conflict's `server` is a task: the fields given must match.
            if not all(same(actual.get(k), v) for k, v in value.items()):
                return False
        elif not same(actual, value):
            return False
    return True


def same(a: object, b: object) -> bool:
    """JSON equality (`true` is not `1`)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def dump(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)
