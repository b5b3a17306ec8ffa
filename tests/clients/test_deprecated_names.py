"""The client's old names, from before it took the browser client's one name per idea
(`delete`, `update`, `complete`): each still does what it did, and warns the caller
(pointing at the caller's line) which name to use instead."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

import pytest
from tasksync_client import EditConflict, LiveTasks

from tests.clients.conftest import FAST, client_of
from tests.support import ServerProcess, User

pytestmark = pytest.mark.postgres

T = TypeVar("T")
WAIT = 20.0


async def warned(instead: str, call: Callable[[], Awaitable[T]]) -> T:
    """What `call` answered, once it warned that `instead` is the name, from this file."""
    with pytest.warns(DeprecationWarning, match=f"deprecated; use {instead}") as caught:
        result = await call()
    assert [w.filename for w in caught] == [__file__]
    return result


async def test_rest_patch_still_updates_and_warns(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token) as client:
        task = await client.create("Buy milk", description="1 litre")
        patched = await warned(
            r"update\(\)", lambda: client.patch(task, description=None, due_date="2026-12-24", if_match=task)
        )
        assert (patched.title, patched.description, patched.due_date) == ("Buy milk", "", date(2026, 12, 24))
        assert await client.get(task.id) == patched


async def test_rest_patch_fields_still_tests_what_was_seen_and_warns(
    server: ServerProcess, user: User
) -> None:
    async with client_of(server, user.token) as client:
        task = await client.create("Buy milk")
        renamed = await warned(
            r"update_fields\(\)",
            lambda: client.patch_fields(task, {"title": "Buy oat milk"}, seen={"title": "Buy milk"}),
        )
        assert (renamed.title, renamed.version) == ("Buy oat milk", 2)
        with pytest.raises(EditConflict):
            await warned(
                r"update_fields\(\)",
                lambda: client.patch_fields(task, {"title": "Buy soy milk"}, seen={"title": "Buy milk"}),
            )
        assert await client.get(task.id) == renamed


async def test_rest_toggle_still_flips_and_warns(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token) as client:
        task = await client.create("Buy milk")
        flipped = await warned(r"complete\(task, completed\)", lambda: client.toggle(task, if_match=task))
        assert (flipped.completed, flipped.version) == (True, 2)
        back = await warned(r"complete\(task, completed\)", lambda: client.toggle(flipped))
        assert (back.completed, back.version) == (False, 3)


async def test_live_remove_still_deletes_and_warns(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token) as client, LiveTasks(client, backoff=FAST) as live:
        task = await live.create("Buy milk")
        await live.flushed(timeout=WAIT)
        await warned(r"delete\(\)", lambda: live.remove(task.id))
        assert task.id not in live.tasks  # shown at once, as a delete is
        assert [w.operation for w in live.pending] == ["delete"]
        await live.flushed(timeout=WAIT)
        assert [t.id async for t in client.iter_tasks()] == []


async def test_live_toggle_still_flips_what_is_shown_and_warns(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token) as client, LiveTasks(client, backoff=FAST) as live:
        task = await live.create("Buy milk")
        done = await warned(r"complete\(task, not task.completed\)", lambda: live.toggle(task.id))
        assert done.completed and live.tasks[task.id].completed
        undone = await warned(r"complete\(task, not task.completed\)", lambda: live.toggle(task))
        assert not undone.completed
        await live.flushed(timeout=WAIT)
        server_side = await client.get(task.id)
        assert (server_side.completed, server_side.version) == (False, 3)
