"""The merge rules of docs/sync-model.md as pure functions: no I/O, no clock, no store.

What a device shows is the confirmed task with the queued writes laid over it
(`overlay`). An edit carries the fields the user changed and the value each showed
(`new_edit`; a form opened earlier gives the values it showed), so queued edits of one
task chain. Each answer of the server rewrites
the writes queued after the one it answered: an applied write moves a later delete's
`If-Match` on (`shift_deletes`), a `409` splits the write into agreed, conflicting and
still-to-send fields and folds later edits of a conflicting field into its conflict
(`resolve_409`), a refused write hands its `seen` on to the edits that counted on it
(`rebase`). Conflicts follow the confirmed task until they settle (`follow`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasksync_client.conflicts import Conflict
from tasksync_client.errors import FailedTest
from tasksync_client.models import Task
from tasksync_client.outbox import QueuedWrite
from tasksync_client.writes import EDITABLE, new_key


def wire_fields(task: Task) -> dict[str, Any]:
    """The editable fields of `task` as JSON values (a due date as its ISO string)."""
    data = task.model_dump(mode="json", include=set(EDITABLE))
    return {name: data[name] for name in EDITABLE}


def same(a: object, b: object) -> bool:
    """JSON equality of two field values (`True` is not `1`)."""
    return type(a) is type(b) and a == b


def overlay(confirmed: Task | None, writes: Iterable[QueuedWrite]) -> Task | None:
    """The task as the user sees it: `confirmed` with `writes` (one task's, oldest first)
    applied in order.

    A create adds its task (version 0), an edit sets the fields it changes whatever the
    version (the version stays the confirmed one), a delete removes the task. An
    answered write's task is in `confirmed` already; an answered delete keeps the task
    hidden until its echo.
    """
    task = confirmed
    for write in writes:
        if write.operation == "delete":
            task = None
        elif write.accepted:
            continue
        elif write.operation == "create":
            if task is None:
                # Version 0 until the server has it, as a delete made on it expects.
                stamps = {"created_at": write.queued_at, "updated_at": write.queued_at, "version": 0}
                task = Task.model_validate({"id": write.task_id, **write.changes, **stamps})
        elif task is not None:
            task = Task.model_validate({**task.model_dump(), **write.changes})
    return task


def new_edit(
    shown: Task, wanted: Mapping[str, Any], seen: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`changes` and `seen` of an edit of `shown` to the `wanted` JSON values, each field
    with the value the user saw: its entry in `seen` if there is one (a form opened
    earlier saw an older value than the one shown now), else the value shown now. A
    field is left out when its wanted value is the one shown now (nothing to do: another
    device may have made the same change) or the one the user saw (they did not change
    it, so a change made elsewhere since stands). Both empty: nothing to do."""
    values = wire_fields(shown)
    saw = {**values, **(seen or {})}
    changes = {
        name: value
        for name, value in wanted.items()
        if not same(values[name], value) and not same(saw[name], value)
    }
    return changes, {name: saw[name] for name in changes}


def shift_deletes(later: Sequence[QueuedWrite], version: int) -> dict[str, QueuedWrite]:
    """An earlier write of the task was applied as `version`: a later delete that expected
    the version just before it now expects this one (this device's own write must not
    make its delete a conflict). Rewritten writes by key."""
    return {
        write.key: dataclasses.replace(write, if_match=version)
        for write in later
        if write.operation == "delete" and write.if_match == version - 1
    }


def rebase(refused: QueuedWrite, later: Sequence[QueuedWrite]) -> dict[str, QueuedWrite | None]:
    """`refused` never applied: a later edit whose `seen` of a field is the value
    `refused` wanted is tested against what `refused` saw instead (what the server still
    holds). A field left changing nothing leaves the edit; an edit left with no field
    goes, silently. Rewritten writes by key (None: gone)."""
    rebased: dict[str, QueuedWrite | None] = {}
    for write in later:
        if write.operation != "edit":
            continue
        changes, seen = dict(write.changes), dict(write.seen)
        for name, value in write.seen.items():
            if (
                name not in refused.changes
                or name not in refused.seen
                or not same(value, refused.changes[name])
            ):
                continue
            before = refused.seen[name]
            if same(changes.get(name), before):
                del changes[name], seen[name]
            else:
                seen[name] = before
        if (changes, seen) != (write.changes, write.seen):
            rebased[write.key] = dataclasses.replace(write, changes=changes, seen=seen) if changes else None
    return rebased


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a `409` to an edit leaves.

    `resend`: the write with the fields whose tests held, under a new key (None: done).
    `conflicts`: the new conflicts, later edits of their fields folded in.
    `later`: the later writes of the task rewritten (by key; None: left with no field,
    dropped silently, its change living on in a conflict).
    """

    resend: QueuedWrite | None
    conflicts: list[Conflict]
    later: dict[str, QueuedWrite | None]


def resolve_409(
    write: QueuedWrite, failed: Sequence[FailedTest], later: Sequence[QueuedWrite], current: Task | None
) -> Resolution:
    """Split `write` by the tests that failed: a field whose server value is the one
    wanted is agreed (nothing to send), any other failed field is a conflict; the fields
    whose tests held are sent again."""
    server = wire_fields(current) if current is not None else {}
    conflicts: dict[str, Conflict] = {}
    for test in failed:
        name = test.field
        if name not in write.changes:
            continue
        actual = server.get(name, test.actual)
        if not same(actual, write.changes[name]):
            seen = write.seen.get(name, test.expected)
            conflicts[name] = Conflict.of_field(write.task_id, name, seen, write.changes[name], actual)
    left = {name for name in write.changes if name not in {test.field for test in failed}}
    resend = None
    if left:
        resend = dataclasses.replace(
            write,
            changes={name: write.changes[name] for name in write.changes if name in left},
            seen={name: value for name, value in write.seen.items() if name in left},
            key=new_key(),
        )
    rewritten: dict[str, QueuedWrite | None] = {}
    for each in later:
        folded = [name for name in each.changes if name in conflicts and each.operation == "edit"]
        if not folded:
            continue
        for name in folded:
            conflicts[name] = dataclasses.replace(conflicts[name], wanted=each.changes[name])
        changes = {name: value for name, value in each.changes.items() if name not in folded}
        seen = {name: value for name, value in each.seen.items() if name not in folded}
        rewritten[each.key] = dataclasses.replace(each, changes=changes, seen=seen) if changes else None
    # A later edit may have wanted what the server holds already: no conflict is left.
    kept = [conflict for conflict in conflicts.values() if not same(conflict.server, conflict.wanted)]
    return Resolution(resend, kept, rewritten)


def follow(conflict: Conflict, task: Task | None) -> Conflict | None:
    """`conflict` with the server's value as `task` has it now; None once it settled by
    itself (the server holds the wanted value, or the task is gone)."""
    if task is None:
        return None
    if conflict.field is None:
        return dataclasses.replace(conflict, server=task)
    value = wire_fields(task)[conflict.field]
    if same(value, conflict.wanted):
        return None
    return dataclasses.replace(conflict, server=value)
