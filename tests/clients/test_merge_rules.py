"""The sync model's merge rules (docs/sync-model.md) without a server: what a device
shows, how queued edits chain, and what each answer of the server does to the queue
and to the conflicts. Pure functions first, then the mirror fed with answers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from tasksync_client import (
    Conflict,
    Dropped,
    FailedTest,
    LiveTasks,
    QueuedWrite,
    StoreClosedError,
    Task,
    TasksyncClient,
    WriteResult,
)
from tasksync_client.errors import api_error
from tasksync_client.live_writes import LiveWrites
from tasksync_client.merge import follow, new_edit, overlay, rebase, resolve_409, shift_deletes
from tasksync_client.mirror import TaskMirror
from tasksync_client.outbox import Outbox

AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def task(version: int = 1, **fields: object) -> Task:
    data = {"id": ID, "title": "Buy milk", "created_at": AT, "updated_at": AT, "version": version}
    return Task.model_validate({**data, **fields})


def edit(changes: dict[str, Any], seen: dict[str, Any], key: str | None = None) -> QueuedWrite:
    return QueuedWrite("edit", ID, changes=changes, seen=seen, queued_at=AT, **({"key": key} if key else {}))


# ---- what a device shows ---------------------------------------------------------------


def test_an_edit_sets_its_fields_whatever_the_version() -> None:
    mine = edit({"title": "Buy oat milk"}, {"title": "Buy milk"})
    # Another device completed the task meanwhile (version 2): both changes show.
    shown = overlay(task(2, completed=True), [mine])
    assert shown is not None and (shown.title, shown.completed, shown.version) == ("Buy oat milk", True, 2)
    assert overlay(None, [mine]) is None  # an edit never brings a deleted task back


def test_creates_and_deletes_show_until_the_server_has_them() -> None:
    create = QueuedWrite("create", ID, changes={"title": "New", "due_date": "2026-12-24"}, queued_at=AT)
    created = overlay(None, [create])
    assert created is not None and (created.title, str(created.due_date), created.version) == (
        "New",
        "2026-12-24",
        0,  # until the server has it
    )
    delete = QueuedWrite("delete", ID, if_match=1)
    assert overlay(task(1), [delete]) is None
    # Answered but not yet echoed: still hidden, even if an older event brings it back.
    assert overlay(task(1), [QueuedWrite("delete", ID, if_match=1, seq=9)]) is None


def test_queued_edits_chain_each_seeing_what_the_one_before_set() -> None:
    first_changes, first_seen = new_edit(task(1), {"title": "Buy oat milk", "completed": False})
    # `completed` is already false: left out, nothing to test for it.
    assert (first_changes, first_seen) == ({"title": "Buy oat milk"}, {"title": "Buy milk"})
    shown = overlay(task(1), [edit(first_changes, first_seen)])
    assert shown is not None
    assert new_edit(shown, {"title": "Buy soy milk"}) == (
        {"title": "Buy soy milk"},
        {"title": "Buy oat milk"},
    )
    assert new_edit(shown, {"title": "Buy oat milk"}) == ({}, {})  # nothing to do


def test_an_edit_from_a_form_opened_earlier_is_tested_against_what_the_form_showed() -> None:
    # The form showed "Buy milk"; another device renamed it to "Buy bread" since.
    now = task(2, title="Buy bread")
    assert new_edit(now, {"title": "Buy oat milk"}, {"title": "Buy milk"}) == (
        {"title": "Buy oat milk"},
        {"title": "Buy milk"},  # its test fails: a conflict, not an overwrite
    )
    # Typed what is there now: agreed. Left as the form showed it: their change stands.
    assert new_edit(now, {"title": "Buy bread"}, {"title": "Buy milk"}) == ({}, {})
    assert new_edit(now, {"title": "Buy milk"}, {"title": "Buy milk"}) == ({}, {})
    # A field without a value seen keeps the rule of the value shown now.
    assert new_edit(now, {"title": "X", "completed": True}, {"title": "Buy milk"}) == (
        {"title": "X", "completed": True},
        {"title": "Buy milk", "completed": False},
    )


def test_an_edit_goes_on_the_wire_as_a_field_level_json_patch_without_if_match() -> None:
    request = edit({"completed": True, "title": "B"}, {"completed": False, "title": "A"}).request
    assert (request.method, request.path, request.if_match) == ("PATCH", f"/api/tasks/{ID}", None)
    assert request.body == [
        {"op": "test", "path": "/title", "value": "A"},
        {"op": "replace", "path": "/title", "value": "B"},
        {"op": "test", "path": "/completed", "value": False},
        {"op": "replace", "path": "/completed", "value": True},
    ]
    headers = request.headers()
    assert headers["Content-Type"] == "application/json-patch+json" and "If-Match" not in headers
    delete = QueuedWrite("delete", ID, if_match=3).request
    assert (delete.method, delete.headers()["If-Match"]) == ("DELETE", '"3"')


# ---- a 409 -----------------------------------------------------------------------------


def test_a_failed_test_of_the_value_wanted_is_agreement_not_a_conflict() -> None:
    mine = edit({"completed": True}, {"completed": False})
    failed = [FailedTest("/completed", False, True)]
    resolution = resolve_409(mine, failed, [], task(2, completed=True))
    assert (resolution.resend, resolution.conflicts, resolution.later) == (None, [], {})


def test_a_409_keeps_the_fields_that_held_and_reports_the_one_that_did_not() -> None:
    mine = edit(
        {"title": "Buy oat milk", "description": "2 litres"}, {"title": "Buy milk", "description": ""}, "k1"
    )
    server = task(2, title="Buy soy milk")
    resolution = resolve_409(mine, [FailedTest("/title", "Buy milk", "Buy soy milk")], [], server)
    assert resolution.conflicts == [
        Conflict(f"{ID}/title", ID, "title", "Buy milk", "Buy oat milk", "Buy soy milk")
    ]
    resend = resolution.resend
    assert resend is not None
    assert (resend.changes, resend.seen) == ({"description": "2 litres"}, {"description": ""})
    assert resend.key != "k1"  # a new Idempotency-Key: the first one was answered with the 409


def test_later_edits_of_a_conflicting_field_fold_into_the_conflict() -> None:
    mine = edit({"title": "A"}, {"title": "Buy milk"})
    only_title = edit({"title": "B"}, {"title": "A"}, "k2")
    title_and_more = edit({"title": "C", "completed": True}, {"title": "B", "completed": False}, "k3")
    failed = [FailedTest("/title", "Buy milk", "Theirs")]
    resolution = resolve_409(mine, failed, [only_title, title_and_more], task(2, title="Theirs"))
    assert resolution.resend is None
    assert [(c.seen, c.wanted, c.server) for c in resolution.conflicts] == [("Buy milk", "C", "Theirs")]
    rewritten = resolution.later["k3"]
    assert resolution.later["k2"] is None  # nothing left of it: dropped silently
    assert rewritten is not None and (rewritten.changes, rewritten.seen) == (
        {"completed": True},
        {"completed": False},
    )


def test_a_conflict_whose_folded_value_is_the_servers_is_no_conflict() -> None:
    mine = edit({"title": "A"}, {"title": "Buy milk"})
    back = edit({"title": "Theirs"}, {"title": "A"}, "k2")
    resolution = resolve_409(
        mine, [FailedTest("/title", "Buy milk", "Theirs")], [back], task(2, title="Theirs")
    )
    assert (resolution.conflicts, resolution.later) == ([], {"k2": None})


# ---- other answers ---------------------------------------------------------------------


def test_after_a_refused_edit_the_later_ones_test_what_it_saw() -> None:
    refused = edit({"title": "B", "description": "d"}, {"title": "A", "description": ""})
    counted_on_it = edit({"title": "C"}, {"title": "B"}, "k2")
    on_top_of_that = edit({"title": "D"}, {"title": "C"}, "k3")  # still holds once k2 applies
    unrelated = edit({"completed": True}, {"completed": False}, "k4")
    rebased = rebase(refused, [counted_on_it, on_top_of_that, unrelated])
    assert list(rebased) == ["k2"]
    assert rebased["k2"] is not None and rebased["k2"].seen == {"title": "A"}
    # An undo of the refused change has nothing left to do once rebased: it goes.
    undo = edit({"title": "A", "completed": True}, {"title": "B", "completed": False}, "k5")
    only_undo = edit({"title": "A"}, {"title": "B"}, "k6")
    left = rebase(refused, [undo, only_undo])
    assert left["k6"] is None
    assert left["k5"] is not None and (left["k5"].changes, left["k5"].seen) == (
        {"completed": True},
        {"completed": False},
    )


def test_a_delete_expecting_the_version_before_this_devices_write_expects_the_new_one() -> None:
    mine = QueuedWrite("delete", ID, if_match=3, key="mine")
    stale = QueuedWrite("delete", ID, if_match=2, key="stale")
    shifted = shift_deletes([mine, stale], 4)
    assert list(shifted) == ["mine"] and shifted["mine"].if_match == 4


def test_a_conflict_follows_the_server_and_goes_by_itself() -> None:
    conflict = Conflict.of_field(ID, "title", "Buy milk", "Mine", "Theirs")
    assert follow(conflict, task(3, title="Other")) == Conflict.of_field(
        ID, "title", "Buy milk", "Mine", "Other"
    )
    assert follow(conflict, task(3, title="Mine")) is None  # the server came round to it
    assert follow(conflict, None) is None  # the task was deleted
    deleting = Conflict.of_delete(ID, task(1), None)
    assert follow(deleting, task(4)) == Conflict.of_delete(ID, task(1), task(4))


# ---- the mirror fed with answers -------------------------------------------------------


def problem(status: int, **members: Any) -> Any:
    body = json.dumps({"type": "about:blank", "title": "x", "status": status, **members}).encode()
    return api_error(status, body)


async def mirror_with(*writes: QueuedWrite, confirmed: Task | None = None) -> TaskMirror:
    mirror = TaskMirror(Outbox(), "me")
    if confirmed is not None:
        await mirror.learn(confirmed)
    for write in writes:
        await mirror.queue(write)
    return mirror


async def test_a_409_opens_conflicts_and_resends_the_rest_at_once() -> None:
    first = edit({"title": "Mine", "completed": True}, {"title": "Buy milk", "completed": False}, "k1")
    later = edit({"title": "Mine again"}, {"title": "Mine"}, "k2")
    mirror = await mirror_with(first, later, confirmed=task(1))
    assert mirror.tasks[ID].title == "Mine again"
    current = task(2, title="Theirs").model_dump(mode="json")
    answer = problem(
        409, current=current, conflicts=[{"path": "/title", "expected": "Buy milk", "actual": "Theirs"}]
    )
    reports = await mirror.answered(first, answer)
    assert reports == [Conflict.of_field(ID, "title", "Buy milk", "Mine again", "Theirs")]
    assert list(mirror.conflicts) == [f"{ID}/title"]
    (resend,) = mirror.outbox.writes
    assert (resend.changes, resend.key != "k1") == ({"completed": True}, True)
    # The field in conflict shows the server's value; the field that held shows mine.
    assert (mirror.tasks[ID].title, mirror.tasks[ID].completed) == ("Theirs", True)
    # The other device's next change moves `server`; the one wanted settles it.
    await mirror.learn(task(3, title="Theirs, later"))
    assert mirror.conflicts[f"{ID}/title"].server == "Theirs, later"
    await mirror.learn(task(4, title="Mine again"))
    assert mirror.conflicts == {}


async def test_a_404_to_an_edit_drops_it_and_every_later_write_of_the_task() -> None:
    first = edit({"title": "A"}, {"title": "Buy milk"}, "k1")
    second = edit({"completed": True}, {"completed": False}, "k2")
    mirror = await mirror_with(first, second, confirmed=task(1))
    gone = problem(404)
    reports = await mirror.answered(first, gone)
    assert reports == [Dropped(first, "missing", gone), Dropped(second, "missing", gone)]
    assert mirror.outbox.writes == () and ID not in mirror.tasks


async def test_a_404_to_a_delete_is_done_silently_and_a_412_is_a_conflict() -> None:
    delete = QueuedWrite("delete", ID, if_match=1, seen=task(1).model_dump(mode="json"))
    mirror = await mirror_with(delete, confirmed=task(1))
    assert await mirror.answered(delete, problem(404)) == [] and mirror.tasks == {}

    mirror = await mirror_with(delete, confirmed=task(1))
    changed = task(2, title="Theirs")
    reports = await mirror.answered(delete, problem(412, current=changed.model_dump(mode="json")))
    assert reports == [Conflict(f"{ID}/delete", ID, None, task(1), None, changed)]
    assert mirror.tasks[ID] == changed  # the task stays


async def test_a_refused_edit_is_dropped_and_the_later_ones_rebased() -> None:
    refused = edit({"title": "Too bold"}, {"title": "Buy milk"}, "k1")
    later = edit({"title": "Fine"}, {"title": "Too bold"}, "k2")
    mirror = await mirror_with(refused, later, confirmed=task(1))
    invalid = problem(422, errors=[{"field": "title", "msg": "no"}])
    assert await mirror.answered(refused, invalid) == [Dropped(refused, "rejected", invalid)]
    (rebased,) = mirror.outbox.writes
    assert rebased.seen == {"title": "Buy milk"}


async def test_an_applied_write_moves_a_later_delete_to_its_version() -> None:
    first = edit({"title": "A"}, {"title": "Buy milk"}, "k1")
    delete = QueuedWrite("delete", ID, if_match=1, key="k2")
    mirror = await mirror_with(first, delete, confirmed=task(1))
    await mirror.answered(first, WriteResult(200, task(2, title="A"), seq=5))
    assert [w.if_match for w in mirror.outbox.writes if w.operation == "delete"] == [2]


async def test_a_write_through_a_store_that_cannot_send_it_is_refused_at_once() -> None:
    async with TasksyncClient(
        "http://127.0.0.1:9", "token", transport=httpx.MockTransport(_unused)
    ) as client:
        live = LiveTasks(client)
        with pytest.raises(StoreClosedError):
            await live.create("never started")
        assert live.pending == ()


def _unused(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no request is made")


class Writes(LiveWrites):
    """`LiveTasks`'s writes on a mirror alone: what they queue, with no server."""

    def __init__(self, client: TasksyncClient, mirror: TaskMirror) -> None:
        self.client, self.mirror = client, mirror

    def _check_open(self) -> None:
        pass

    def _notify(self) -> None:
        pass


async def test_update_and_replace_with_seen_send_a_test_of_the_value_the_form_showed() -> None:
    async with TasksyncClient(
        "http://127.0.0.1:9", "token", transport=httpx.MockTransport(_unused)
    ) as client:
        # Shown now: another device's rename and due date, which arrived while the form was open.
        mirror = await mirror_with(confirmed=task(2, title="Buy bread", due_date="2026-12-24"))
        mirror.show_all()
        writes = Writes(client, mirror)
        await writes.update(ID, title=" Buy oat milk ", seen={"title": " Buy milk"})
        (queued,) = writes.mirror.outbox.writes
        assert queued.request.body == [
            {"op": "test", "path": "/title", "value": "Buy milk"},
            {"op": "replace", "path": "/title", "value": "Buy oat milk"},
        ]
        # A whole form: the fields left as the form showed them are not sent (theirs stand).
        await writes.replace(
            ID,
            title="Buy oat milk",
            description="2 litres",
            seen={"title": "Buy oat milk", "description": "", "completed": False, "due_date": None},
        )
        assert writes.mirror.outbox.writes[-1].request.body == [
            {"op": "test", "path": "/description", "value": ""},
            {"op": "replace", "path": "/description", "value": "2 litres"},
        ]
        # The value typed is the one shown now: agreed, nothing queued.
        await writes.update(ID, description="2 litres", seen={"description": "1 litre"})
        assert len(writes.mirror.outbox.writes) == 2
        with pytest.raises(ValueError, match="completed"):
            await writes.update(ID, title="Buy soy milk", seen={"completed": False})  # not being changed
        with pytest.raises(ValueError, match="due_date"):
            await writes.update(ID, due_date=date(2026, 12, 25), seen={"due_date": "someday"})
        assert len(writes.mirror.outbox.writes) == 2
        await writes.update(ID, due_date=None, seen={"due_date": date(2026, 12, 1)})
        assert writes.mirror.outbox.writes[-1].request.body[0] == {
            "op": "test",
            "path": "/due_date",
            "value": "2026-12-01",
        }
