"""`LiveTasks` offline, on SQLite and PostgreSQL: the connection is really cut (a TCP proxy
between the client and the server refuses, or swallows the answers), writes made
meanwhile show at once, and once the connection is back each is applied exactly once;
a conflicting offline edit is reported and the other side's value kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import pytest
from tasksync_client import ChangeEvent, Conflict, Dropped, LiveTasks, TasksyncClient, TransportError

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
            await live.toggle(new.id)
            await live.update(kept, title="renamed offline")
            await live.toggle(kept.id)
            await live.remove(gone.id)

            # All of it shows at once, as pending, and none of it reached the server.
            shown = live.tasks[new.id]
            assert (shown.title, shown.description, shown.completed, shown.due_date, shown.version) == (
                "written offline",
                "edited before it reached the server",
                True,
                date(2026, 12, 24),
                3,
            )
            assert (live.tasks[kept.id].title, live.tasks[kept.id].completed) == ("renamed offline", True)
            assert gone.id not in live.tasks
            assert [w.operation for w in live.pending] == ["create", "update", "toggle"] + [
                "update",
                "toggle",
                "delete",
            ]
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
        await live.toggle(new.id)
        # The create committed on the server at its first attempt; its answer (and those
        # of its retries) never came back, so the toggle waits behind it, unsent.
        assert [e.type for e in await wait_for_events(device, start, 1)] == ["task.created"]
        assert live.client.last_write_seq == 0 and len(live.pending) == 2

        await cut.restore()
        await live.wait_until(lambda m: not m.pending and m.seq >= start + 2, timeout=WAIT)
        events = await events_after(device, start)
        assert [(e.type, e.task_id) for e in events] == [("task.created", new.id), ("task.updated", new.id)]
        task = await device.get(new.id)
        assert (task.completed, task.version) == (True, 2)  # toggled once, not once per retry
        assert live.tasks[new.id] == task


async def wait_for_events(client: TasksyncClient, seq: int, count: int) -> list[ChangeEvent]:
    page = await client.changes(since=seq, wait=WAIT)
    assert len(page.events) >= count
    return page.events


async def test_a_conflicting_offline_edit_is_reported_and_the_other_side_kept(
    server: ServerProcess, tmp_path: Path
) -> None:
    user = User()
    conflicts: list[Conflict] = []
    dropped: list[Dropped] = []
    async with client_of(server, user.token) as device:
        shared = await device.create("shared")
        doomed = await device.create("doomed")
        async with offline_capable(
            server, user, tmp_path / "tasks.sqlite", on_conflict=conflicts.append, on_dropped=dropped.append
        ) as (cut, live):
            await go_offline(cut, live)
            await live.update(shared.id, title="mine")
            await live.toggle(shared.id)  # made on top of "mine": refused along with it
            await live.update(doomed.id, description="edit of a task deleted elsewhere")
            assert live.tasks[shared.id].title == "mine"
            theirs = await device.patch(shared, title="theirs")  # the other device, meanwhile
            await device.delete(doomed)

            await cut.restore()
            await live.wait_until(
                lambda m: not m.pending and len(conflicts) == 2 and len(dropped) == 1, timeout=WAIT
            )
            assert [(c.operation, c.attempted, c.current) for c in conflicts] == [
                ("update", {"title": "mine"}, theirs),
                ("toggle", {"completed": True}, theirs),
            ]
            assert [(d.operation, d.reason, d.task_id, d.error.status) for d in dropped] == [
                ("update", "missing", doomed.id, 404)
            ]
            # The other device's value is kept, on the server and in the mirror.
            await live.wait_until(lambda m: doomed.id not in m.tasks, timeout=WAIT)
            assert live.tasks[shared.id] == theirs == await device.get(shared.id)

            # The user chooses to apply their edit on top of what the other device did.
            reapplied = await conflicts[0].reapply()
            assert reapplied is not None and reapplied.title == "mine" and live.is_pending(shared.id)
            await live.wait_until(lambda m: not m.pending, timeout=WAIT)
            final = await device.get(shared.id)
            assert (final.title, final.completed, final.version) == ("mine", False, 3)
            await live.wait_until(lambda m: m.tasks[shared.id] == final, timeout=WAIT)


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
            await live.toggle(task.id)
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
        await live.toggle(other.id)
        # What the contract forbids is refused here, before anything is queued.
        for write in (
            lambda: live.create("   "),
            lambda: live.update(other.id, description="x" * 10_001),
            lambda: live.update(other.id, due_date="2026-02-30"),
        ):
            with pytest.raises(ValueError):
                await write()
        await live.flushed(timeout=WAIT)
        assert [(d.operation, d.reason, d.error.status) for d in dropped] == [
            ("create", "rejected", 422),
            ("update", "missing", 404),
        ]
        assert bad.id not in live.tasks
        assert [(t.id, t.completed) async for t in device.iter_tasks()] == [(other.id, True)]
        assert live.tasks[other.id] == await device.get(other.id)
