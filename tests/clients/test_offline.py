"""`LiveTasks` offline, on SQLite and PostgreSQL: the connection is really cut (a TCP proxy
between the client and the server refuses, or swallows the answers), writes made
meanwhile show at once, and once the connection is back each is applied exactly once;
offline edits of different fields merge with other devices' edits, and one of the same
field is a conflict that waits for the user's choice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import pytest
from tasksync_client import (
    ChangeEvent,
    Conflict,
    Dropped,
    LiveTasks,
    StoreClosedError,
    TasksyncClient,
    TransportError,
)

from tests.clients.conftest import FAST, client_of, server_process
from tests.netcut import Netcut
from tests.support import ServerProcess, User, running, wait_until

# Generous bounds: they end a test that would hang, they time nothing.
WAIT = 20.0


@pytest.fixture(scope="module")
async def server(database_url: str, artifacts_dir: Path) -> AsyncIterator[ServerProcess]:
    """One server on this module's database (the module runs on SQLite and on PostgreSQL)."""
    kind = "sqlite" if database_url.startswith("sqlite") else "pg"
    async with running(server_process(database_url, artifacts_dir, f"offline-{kind}")) as (process,):
        yield process


@asynccontextmanager
async def offline_capable(
    server: ServerProcess, user: User, store: Path | None, **options: object
) -> AsyncIterator[tuple[Netcut, LiveTasks]]:
    """A mirror whose every connection to the server runs through a cuttable proxy."""
    async with (
        Netcut(server.port) as cut,
        TasksyncClient(cut.url, user.token, backoff=FAST) as client,
        LiveTasks(client, store=store, backoff=FAST, **options) as live,  # type: ignore[arg-type]
    ):
        yield cut, live


async def go_offline(cut: Netcut, live: LiveTasks) -> None:
    await cut.refuse()
    await live.wait_until(lambda m: not m.connected, timeout=WAIT)


async def events_after(client: TasksyncClient, seq: int) -> list[ChangeEvent]:
    return (await client.changes(since=seq, limit=1000)).events


async def test_offline_writes_show_at_once_then_apply_exactly_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    user = User()
    async with client_of(server, user.token) as device:
        kept = await device.create("kept")
        gone = await device.create("gone")
        async with offline_capable(server, user, tmp_path / "tasks.sqlite") as (cut, live):
            start = live.seq
            await go_offline(cut, live)

            new = await live.create("written offline", due_date=date(2026, 12, 24))
            await live.update(new, description="edited before it reached the server")
            await live.complete(new.id)
            await live.update(kept, title="renamed offline")
            await live.complete(kept.id)
            await live.delete(gone.id)

            # All of it shows at once, as pending, and none of it reached the server.
            shown = live.tasks[new.id]
            assert (shown.title, shown.description, shown.completed, shown.due_date, shown.version) == (
                "written offline",
                "edited before it reached the server",
                True,
                date(2026, 12, 24),
                0,  # not on the server yet
            )
            assert (live.tasks[kept.id].title, live.tasks[kept.id].completed) == ("renamed offline", True)
            assert gone.id not in live.tasks
            assert [w.operation for w in live.pending] == ["create", "edit", "edit", "edit", "edit", "delete"]
            assert live.is_pending(new.id) and live.is_pending(gone.id)
            assert await events_after(device, start) == []

            await cut.restore()
            await live.flushed(timeout=WAIT)

            # Exactly one event per write, in the order they were made, each by this client.
            events = await events_after(device, start)
            assert [(e.type, e.task_id, e.origin) for e in events] == [
                ("task.created", new.id, live.client.client_id),
                ("task.updated", new.id, live.client.client_id),
                ("task.updated", new.id, live.client.client_id),
                ("task.updated", kept.id, live.client.client_id),
                ("task.updated", kept.id, live.client.client_id),
                ("task.deleted", gone.id, live.client.client_id),
            ]
            snapshot = await device.snapshot()
            assert dict(live.tasks) == {task.id: task for task in snapshot.tasks}
            assert live.seq == snapshot.seq == start + 6
            assert live.tasks[new.id].completed and live.tasks[new.id].version == 3


async def test_a_write_whose_answer_was_lost_applies_once(server: ServerProcess) -> None:
    user = User()
    async with (
        client_of(server, user.token) as device,
        offline_capable(server, user, store=None) as (cut, live),
    ):
        start = live.seq
        await cut.lose_responses()  # requests reach the server; every answer is thrown away
        new = await live.create("answered into the void")
        await live.complete(new.id)
        # The create committed on the server at its first attempt; its answer (and those
        # of its retries) never came back, so the completion waits behind it, unsent.
        assert [e.type for e in await wait_for_events(device, start, 1)] == ["task.created"]
        assert live.client.last_write_seq == 0 and len(live.pending) == 2

        await cut.restore()
        await live.wait_until(lambda m: not m.pending and m.seq >= start + 2, timeout=WAIT)
        events = await events_after(device, start)
        assert [(e.type, e.task_id) for e in events] == [("task.created", new.id), ("task.updated", new.id)]
        task = await device.get(new.id)
        assert (task.completed, task.version) == (True, 2)  # completed once, not once per retry
        assert live.tasks[new.id] == task


async def wait_for_events(client: TasksyncClient, seq: int, count: int) -> list[ChangeEvent]:
    page = await client.changes(since=seq, wait=WAIT)
    assert len(page.events) >= count
    return page.events


async def test_offline_edits_merge_by_field_and_a_same_field_edit_waits_for_the_user(
    server: ServerProcess, tmp_path: Path
) -> None:
    user, store = User(), tmp_path / "tasks.sqlite"
    conflicts: list[Conflict] = []
    dropped: list[Dropped] = []
    async with client_of(server, user.token) as device:
        shared = await device.create("shared")
        doomed = await device.create("doomed")
        async with offline_capable(
            server, user, store, on_conflict=conflicts.append, on_dropped=dropped.append
        ) as (cut, live):
            await go_offline(cut, live)
            await live.update(shared.id, title="mine", description="same idea")
            await live.complete(shared.id)
            await live.update(shared.id, title="mine, again")  # folds into the title's conflict
            await live.update(doomed.id, description="edit of a task deleted elsewhere")
            assert (live.tasks[shared.id].title, live.tasks[shared.id].completed) == ("mine, again", True)
            # The other device, meanwhile: the same title field, another value; the same
            # description as mine; a new due date; and the other task deleted.
            await device.update(shared, title="theirs", description="same idea", due_date=date(2026, 12, 24))
            await device.delete(doomed)

            await cut.restore()
            await live.wait_until(lambda m: not m.pending and len(dropped) == 1, timeout=WAIT)
            await live.flushed(timeout=WAIT)
            # Only the title disagrees: my completion and their due date both apply.
            on_server = await device.get(shared.id)
            assert (on_server.title, on_server.description, on_server.completed, on_server.due_date) == (
                "theirs",
                "same idea",
                True,
                date(2026, 12, 24),
            )
            assert (
                conflicts
                == list(live.conflicts)
                == [Conflict(f"{shared.id}/title", shared.id, "title", "shared", "mine, again", "theirs")]
            )
            assert [(d.operation, d.reason, d.task_id, d.error.status) for d in dropped] == [
                ("edit", "missing", doomed.id, 404)
            ]
            assert doomed.id not in live.tasks
            assert live.tasks[shared.id] == on_server  # the field in conflict shows theirs

            # Their next change of the title moves the conflict's `server`; no new report.
            await device.update(shared, title="theirs, later")
            await live.wait_until(lambda m: m.conflicts[0].server == "theirs, later", timeout=WAIT)
            assert len(conflicts) == 1

            # The conflict is kept with the outbox: a new mirror on the file still has it.
            await live.aclose()
            async with LiveTasks(
                live.client, store=store, backoff=FAST, on_conflict=conflicts.append
            ) as again:
                (open_conflict,) = again.conflicts
                assert (open_conflict.key, open_conflict.wanted) == (f"{shared.id}/title", "mine, again")
                shown = await again.use_mine(open_conflict)
                assert shown is not None and shown.title == "mine, again" and again.conflicts == ()
                await again.flushed(timeout=WAIT)
                final = await device.get(shared.id)
                assert (final.title, final.completed, final.due_date) == (
                    "mine, again",
                    True,
                    date(2026, 12, 24),
                )
                assert again.tasks[shared.id] == final and len(conflicts) == 1


async def test_a_delete_of_a_task_changed_elsewhere_is_a_conflict_until_the_user_chooses(
    server: ServerProcess,
) -> None:
    user = User()
    conflicts: list[Conflict] = []
    async with (
        client_of(server, user.token) as device,
        offline_capable(server, user, store=None, on_conflict=conflicts.append) as (cut, live),
    ):
        kept = await device.create("kept")
        chosen = await device.create("deleted on second thought")
        await live.wait_until(lambda m: chosen.id in m.tasks, timeout=WAIT)
        await go_offline(cut, live)
        await live.delete(kept.id)
        await live.delete(chosen.id)
        kept_now = await device.update(kept, description="changed while the delete waited")
        chosen_now = await device.update(chosen, title="renamed while the delete waited")

        await cut.restore()
        await live.wait_until(lambda m: not m.pending and len(m.conflicts) == 2, timeout=WAIT)
        assert [(c.key, c.field, c.wanted, c.server) for c in live.conflicts] == [
            (f"{kept.id}/delete", None, None, kept_now),
            (f"{chosen.id}/delete", None, None, chosen_now),
        ]
        assert conflicts == list(live.conflicts)
        # The tasks stay until the user chooses.
        await live.wait_until(lambda m: kept.id in m.tasks and chosen.id in m.tasks, timeout=WAIT)

        await live.keep_theirs(f"{kept.id}/delete")
        assert await live.use_mine(conflicts[1]) is None
        assert live.conflicts == () and chosen.id not in live.tasks
        await live.flushed(timeout=WAIT)
        assert [t.id async for t in device.iter_tasks()] == [kept.id]
        assert list(live.tasks) == [kept.id] and len(conflicts) == 2


async def test_a_conflict_goes_by_itself_when_the_server_comes_round(server: ServerProcess) -> None:
    user = User()
    reported: list[Conflict] = []
    async with (
        client_of(server, user.token) as device,
        offline_capable(server, user, store=None, on_conflict=reported.append) as (cut, live),
    ):
        task = await device.create("draft")
        await live.wait_until(lambda m: task.id in m.tasks, timeout=WAIT)
        await go_offline(cut, live)
        await live.update(task.id, title="final")
        await live.complete(task.id)  # the same value on both devices: agreed, no conflict
        await device.update(task, title="their draft", completed=True)
        await cut.restore()
        await live.wait_until(lambda m: not m.pending and len(m.conflicts) == 1, timeout=WAIT)
        assert [(c.field, c.server) for c in reported] == [("title", "their draft")]

        await device.update(task, title="final")  # the other device makes my change
        await live.wait_until(lambda m: m.conflicts == (), timeout=WAIT)
        assert live.tasks[task.id].title == "final" and len(reported) == 1


async def test_writes_through_a_closed_or_signed_out_mirror_are_refused(
    server: ServerProcess, tmp_path: Path
) -> None:
    user, store = User(), tmp_path / "tasks.sqlite"
    async with client_of(server, user.token) as client:
        never_started = LiveTasks(client, store=store, backoff=FAST)
        with pytest.raises(StoreClosedError):
            await never_started.create("before start")
        live = LiveTasks(client, store=store, backoff=FAST)
        await live.start()
        task = await live.create("made while open")
        await live.flushed(timeout=WAIT)
        await live.aclose()
        with pytest.raises(StoreClosedError):
            await live.update(task.id, title="after close")
        assert live.pending == ()
        signed_out = LiveTasks(client, store=store, backoff=FAST)
        await signed_out.start()
        await signed_out.sign_out()
        with pytest.raises(StoreClosedError):
            await signed_out.delete(task.id)
        # Nothing was queued for later either: a new mirror on the file has nothing to send.
        async with LiveTasks(client, store=store, backoff=FAST) as again:
            assert again.pending == ()
        assert [t.title async for t in client.iter_tasks()] == ["made while open"]


async def test_sign_out_forgets_only_that_user(server: ServerProcess, tmp_path: Path) -> None:
    alice, bob, store = User(), User(), tmp_path / "shared.sqlite"
    async with client_of(server, alice.token) as device:
        await device.create("alice's")
    async with (
        Netcut(server.port) as cut,
        TasksyncClient(cut.url, alice.token, backoff=FAST) as alices,
        TasksyncClient(cut.url, bob.token, backoff=FAST) as bobs,
    ):
        async with LiveTasks(bobs, store=store, backoff=FAST) as live:
            await live.create("bob's")
            await live.wait_until(lambda m: not m.pending, timeout=WAIT)
        live = LiveTasks(alices, store=store, backoff=FAST)
        await live.start()
        await go_offline(cut, live)
        unsent = await live.create("never sent")
        discarded = await live.sign_out()
        assert [(w.operation, w.task_id) for w in discarded] == [("create", unsent.id)]
        assert dict(live.tasks) == {} and live.pending == ()
        # Nothing of Alice's is left in the file: offline, a new mirror has nothing to
        # show and must load a snapshot, which fails.
        with pytest.raises(TransportError):
            await LiveTasks(alices, store=store).start()
        # Bob's part of the file is untouched, and shown without the server.
        async with LiveTasks(bobs, store=store) as live:
            assert [t.title for t in live.tasks.values()] == ["bob's"]
    async with client_of(server, alice.token) as device:
        assert [t.title async for t in device.iter_tasks()] == ["alice's"]


async def test_ten_writes_through_a_silent_link_apply_once_when_it_comes_back(server: ServerProcess) -> None:
    """A dead link that does not say so: connections open, then nothing goes through.
    Each attempt waits out the client's timeout and is sent again, with its key."""
    user = User()
    async with (
        client_of(server, user.token) as device,
        Netcut(server.port) as cut,
        TasksyncClient(cut.url, user.token, backoff=FAST, timeout=1.0, retries=0) as client,
        LiveTasks(client, backoff=FAST) as live,
    ):
        start = live.seq
        await live.wait_until(lambda m: m.connected, timeout=WAIT)  # its socket goes silent too
        await cut.blackhole()
        accepted = cut.accepted
        made = [await live.create(f"through the silence {i}") for i in range(5)]
        for task in made:
            await live.complete(task.id)
        assert len(live.tasks) == 5 and all(task.completed for task in live.tasks.values())
        # The first write has been tried on at least two silent connections.
        await wait_until(lambda: cut.accepted >= accepted + 2, timeout=WAIT)
        assert await events_after(device, start) == []

        await cut.restore()
        await live.wait_until(lambda m: not m.pending and m.seq >= start + 10, timeout=WAIT)
        events = await events_after(device, start)
        assert [e.type for e in events] == ["task.created"] * 5 + ["task.updated"] * 5
        assert sorted((t.title, t.completed, t.version) for t in (await device.snapshot()).tasks) == [
            (f"through the silence {i}", True, 2) for i in range(5)
        ]


async def test_a_write_the_server_refuses_is_dropped_and_reported(server: ServerProcess) -> None:
    user = User()
    dropped: list[Dropped] = []
    async with (
        client_of(server, user.token) as device,
        offline_capable(server, user, store=None, on_dropped=dropped.append) as (_, live),
    ):
        other = await live.create("fine")
        bad = await live.create("under an id the server will not take", id="Not-A-Canonical-UUID")
        await live.update(bad.id, title="made on top of it")
        await live.complete(other.id)
        # What the contract forbids is refused here, before anything is queued.
        for write in (
            lambda: live.create("   "),
            lambda: live.update(other.id, description="x" * 10_001),
            lambda: live.update(other.id, due_date="2026-02-30"),
        ):
            with pytest.raises(ValueError):
                await write()
        await live.flushed(timeout=WAIT)
        # The edit made on the refused create is dropped with it, never sent.
        assert [(d.operation, d.reason, d.error.status) for d in dropped] == [
            ("create", "rejected", 422),
            ("edit", "rejected", 422),
        ]
        assert bad.id not in live.tasks
        assert [(t.id, t.completed) async for t in device.iter_tasks()] == [(other.id, True)]
        assert live.tasks[other.id] == await device.get(other.id)
