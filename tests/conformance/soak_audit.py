"""What the merge soak (soak.py) checks, without I/O: the ledger of what each device was
asked to do (edits, creates, deletes, each stamped with the soak's round and the
server's `seq` just before it) and of what it reported (conflicts, dropped writes),
and the audit of that ledger against the server's change log once every device has
settled.

Every title, description and due date a device writes is new and unique, and the
ledger knows which device wrote it, so a value in the log names its author. Only
`completed` repeats values; for it the log's `origin` (a device's `X-Client-Id`) says
who changed it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.conformance.drivers.base import EDITABLE, DeviceState
from tests.conformance.expectations import same

Event = dict[str, Any]


@dataclass(frozen=True)
class Edit:
    """`device` set `field` of `task_id` to `value` in round `clock`; the server was at
    `head` just before."""

    device: str
    task_id: str
    field: str
    value: Any
    clock: int
    head: int


@dataclass(frozen=True)
class Create:
    device: str
    task_id: str
    clock: int


@dataclass(frozen=True)
class Delete:
    device: str
    task_id: str
    clock: int


@dataclass
class Ledger:
    edits: list[Edit] = field(default_factory=list)
    creates: list[Create] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)
    # (field, value) → the device that wrote it.
    authors: dict[tuple[str, Any], str] = field(default_factory=dict)
    # (device, task, field, wanted as JSON) → the last round a device listed or reported
    # that conflict. Open conflicts are looked at every round, since a later queued edit
    # folds into a conflict and changes its `wanted` without a new report.
    conflicts: dict[tuple[str, str, str | None, str], int] = field(default_factory=dict)

    def observe(self, device: str, state: DeviceState, clock: int) -> None:
        for conflict in [*state.reported, *state.conflicts]:
            key = (device, conflict["task_id"], conflict["field"], json.dumps(conflict["wanted"]))
            self.conflicts[key] = clock

    def conflict_after(self, device: str, task_id: str, name: str | None, wanted: Any, clock: int) -> bool:
        return self.conflicts.get((device, task_id, name, json.dumps(wanted)), -1) > clock


@dataclass
class Audit:
    edits_made: int = 0
    edits_applied: int = 0
    conflicts_reported: int = 0
    devices: int = 0
    devices_equal: int = 0
    lost: list[str] = field(default_factory=list)
    false_conflicts: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


@dataclass
class Auditor:
    """Audits `ledger` against `events` (the server's whole log for the user, in `seq`
    order), the devices' final `states` and the client ids each sent its writes under."""

    ledger: Ledger
    events: list[Event]
    states: dict[str, DeviceState]
    client_ids: dict[str, set[str]]
    server: dict[str, dict[str, Any]]
    by_task: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        for event in self.events:
            self.by_task[event["task"]["id"]].append(event)

    def audit(self) -> Audit:
        result = Audit(edits_made=len(self.ledger.edits), devices=len(self.states))
        for edit in self.ledger.edits:
            if self._applied(edit):
                result.edits_applied += 1
            elif not self._accounted(edit):
                result.lost.append(
                    f"{edit.device} set {edit.task_id}.{edit.field} = {edit.value!r} in round {edit.clock}: "
                    f"the server never held it after seq {edit.head}, and no conflict or drop was reported"
                )
        result.lost += [f"{c.device} created {c.task_id} in round {c.clock}: never on the server"
                        for c in self.ledger.creates if not self._created(c)]  # fmt: skip
        result.lost += [f"{d.device} deleted {d.task_id} in round {d.clock}: not deleted, no conflict"
                        for d in self.ledger.deletes if not self._deleted(d)]  # fmt: skip
        for device, state in self.states.items():
            result.conflicts_reported += len(state.reported)
            for conflict in state.reported:
                if not self._changed_elsewhere(device, conflict):
                    result.false_conflicts.append(
                        f"{device} reported a conflict of {conflict['key']} (wanted {conflict['wanted']!r}, "
                        f"server {conflict['server']!r}) that no other device caused"
                    )
            found = self._differences(device, state)
            result.differences += found
            result.devices_equal += not found
        return result

    # -- every edit accounted for -----------------------------------------------------

    def _applied(self, edit: Edit) -> bool:
        return any(
            event["seq"] > edit.head
            and _sets(event, edit.field)
            and same(event["task"][edit.field], edit.value)
            and event.get("origin") in self.client_ids[edit.device]
            for event in self.by_task[edit.task_id]
        )

    def _accounted(self, edit: Edit) -> bool:
        later = [
            e.value
            for e in self.ledger.edits
            if (e.device, e.task_id, e.field) == (edit.device, edit.task_id, edit.field)
            and e.clock >= edit.clock
        ]
        return (
            self._held_since(edit)
            or any(
                self.ledger.conflict_after(edit.device, edit.task_id, edit.field, v, edit.clock)
                for v in later
            )
            or {"task_id": edit.task_id, "reason": "missing"} in self.states[edit.device].dropped
            or any(
                (d.device, d.task_id) == (edit.device, edit.task_id) and d.clock > edit.clock
                for d in self.ledger.deletes
            )
        )

    def _held_since(self, edit: Edit) -> bool:
        """The server held the value at some moment from the edit on: it applied it, or
        already had it (agreed)."""
        setting = [event for event in self.by_task[edit.task_id] if _sets(event, edit.field)]
        before = [event for event in setting if event["seq"] <= edit.head]
        if before and same(before[-1]["task"][edit.field], edit.value):
            return True
        return any(
            event["seq"] > edit.head and same(event["task"][edit.field], edit.value) for event in setting
        )

    def _created(self, create: Create) -> bool:
        return any(event["type"] == "task.created" for event in self.by_task[create.task_id]) or any(
            (d.device, d.task_id) == (create.device, create.task_id) for d in self.ledger.deletes
        )

    def _deleted(self, delete: Delete) -> bool:
        # A delete conflict's `wanted` is no field value: any report of one after it counts.
        return any(event["type"] == "task.deleted" for event in self.by_task[delete.task_id]) or any(
            (device, task_id, name) == (delete.device, delete.task_id, None) and clock > delete.clock
            for (device, task_id, name, _), clock in self.ledger.conflicts.items()
        )

    # -- every conflict real ----------------------------------------------------------

    def _changed_elsewhere(self, device: str, conflict: dict[str, Any]) -> bool:
        name = conflict["field"]
        own = self.client_ids[device]
        for event in self.by_task[conflict["task_id"]]:
            if event["type"] != "task.updated":
                continue
            if name is None or name == "completed":
                if (name is None or name in event["changed"]) and event.get("origin") not in own:
                    return True
            elif name in event["changed"]:
                author = self.ledger.authors.get((name, event["task"][name]))
                if author is not None and author != device:
                    return True
        return False

    # -- every device shows the server ------------------------------------------------

    def _differences(self, device: str, state: DeviceState) -> list[str]:
        found = [f"{device} stopped on an error: {state.errors}"] if state.errors else []
        shown = {
            task_id: {name: task.get(name) for name in EDITABLE} for task_id, task in state.tasks.items()
        }
        for task_id in sorted(set(shown) | set(self.server)):
            mine, theirs = shown.get(task_id), self.server.get(task_id)
            if mine is None or theirs is None or not all(same(mine[n], theirs[n]) for n in EDITABLE):
                found.append(f"{device} shows {task_id} as {mine}, the server has {theirs}")
        return found


def _sets(event: Event, name: str) -> bool:
    """Whether `event` set field `name` (a create sets every field)."""
    return event["type"] == "task.created" or (
        event["type"] == "task.updated" and name in (event.get("changed") or [])
    )
