"""The REST client's part of offline-first: creates under a client-chosen id, an
`Idempotency-Key` on every write (a retry replays, never repeats), and the
`Tasksync-Seq` of every write's answer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tasksync_client import (
    EditConflict,
    LiveTasks,
    PreconditionFailed,
    TasksyncClient,
    ValidationError,
    WriteRequest,
)
from tasksync_client.writes import json_patch

from tests.clients.conftest import FAST, SERVER_ENV, client_of
from tests.support import ServerProcess, User, running

pytestmark = pytest.mark.postgres


async def test_a_create_under_a_chosen_id(server: ServerProcess, user: User) -> None:
    task_id = str(uuid.uuid4())
    async with client_of(server, user.token) as client:
        task = await client.create("chosen id", id=task_id, idempotency_key="create-1")
        assert (task.id, task.version) == (task_id, 1)
        # The same create again (its answer lost, say) gets the first answer back …
        assert await client.create("chosen id", id=task_id, idempotency_key="create-1") == task
        # … while another create under that id is refused with the task as it is.
        with pytest.raises(PreconditionFailed) as taken:
            await client.create("someone else's idea", id=task_id)
        assert taken.value.current == task
        with pytest.raises(ValidationError):
            await client.create("not a canonical uuid", id=task_id.upper())
        assert [t.id async for t in client.iter_tasks()] == [task_id]


async def test_every_write_replays_under_its_key_and_reports_its_seq(
    server: ServerProcess, user: User
) -> None:
    async with client_of(server, user.token) as client:
        task = await client.create("seed")
        path = f"/api/tasks/{task.id}"
        writes = [
            WriteRequest("PATCH", path, {"title": "patched"}, if_match=1),
            WriteRequest("PUT", path, {"title": "replaced"}, if_match=2),
            WriteRequest("PATCH", path, json_patch({"title": "replaced"}, {"title": "field-patched"})),
            WriteRequest("PATCH", path + "/complete", if_match=4),
            WriteRequest("DELETE", path, if_match=5),
        ]
        for seq, request in enumerate(writes, start=2):
            first = await client.write(request)
            again = await client.write(request)
            assert (first.seq, first.replayed) == (seq, False)
            assert (again.status, again.task, again.seq, again.replayed) == (
                first.status,
                first.task,
                seq,
                True,
            )
            assert client.last_write_seq == seq
        assert first.status == 204 and first.task is None
        page = await client.changes(since=0)
        assert [e.type for e in page.events] == ["task.created"] + ["task.updated"] * 4 + ["task.deleted"]
        with pytest.raises(ValidationError) as reused:  # a used key, another request
            await client.write(
                WriteRequest("POST", "/api/tasks", {"title": "x"}, idempotency_key=writes[0].idempotency_key)
            )
        assert reused.value.status == 422


async def test_a_field_level_patch_applies_only_if_each_field_holds_what_was_seen(
    server: ServerProcess, user: User
) -> None:
    async with client_of(server, user.token) as client:
        task = await client.create("Buy milk")
        # Another device changed the description: a title edit still applies.
        await client.update(task, description="2 litres")
        renamed = await client.update_fields(task, {"title": "Buy oat milk"}, seen={"title": "Buy milk"})
        assert (renamed.title, renamed.description, renamed.version) == ("Buy oat milk", "2 litres", 3)
        with pytest.raises(EditConflict) as stale:
            await client.update_fields(
                task,
                {"title": "Buy soy milk", "completed": True},
                seen={"title": "Buy milk", "completed": False},
            )
        assert stale.value.status == 409 and stale.value.current == renamed
        assert [(c.field, c.expected, c.actual) for c in stale.value.conflicts] == [
            ("title", "Buy milk", "Buy oat milk")
        ]
        assert await client.get(task) == renamed  # nothing of it was written


class LoseAnswers(httpx.AsyncBaseTransport):
    """Delivers every request, but loses the answers to the first `count` writes."""

    def __init__(self, count: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.count = count
        self.keys: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "GET":
            self.keys.append(request.headers["idempotency-key"])
            if len(self.keys) <= self.count:
                await response.aclose()
                raise httpx.ReadError("connection reset after the request was sent", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_retries_after_lost_answers_reuse_the_key_and_apply_once(
    server: ServerProcess, user: User
) -> None:
    async with client_of(server, user.token) as setup:
        task = await setup.create("complete me", completed=False)
    transport = LoseAnswers(count=2)
    async with TasksyncClient(server.url, user.token, transport=transport, retries=2) as client:
        done = await client.complete(task, if_match=task)  # two answers lost, the third arrives
        assert len(transport.keys) == 3 and len(set(transport.keys)) == 1
        assert (done.completed, done.version) == (True, 2)
        assert len((await client.changes(since=1)).events) == 1


@pytest.fixture(scope="module")
async def limited_server(pg_url: str, artifacts_dir: Path) -> AsyncIterator[ServerProcess]:
    """A server that takes at most 5 writes per user every 2 seconds."""
    env = {"DATABASE_URL": pg_url, **SERVER_ENV, "RATE_LIMIT_WRITES": "5/2 seconds"}
    async with running(ServerProcess(env, artifacts_dir, "offline-limited")) as (process,):
        yield process


async def test_a_queue_longer_than_the_write_budget_is_sent_once_in_full(
    limited_server: ServerProcess,
) -> None:
    """Back online with more queued writes than the server takes at once: the `429`s
    are waited out (their `Retry-After`), and every write still applies once."""
    user = User()
    async with (
        TasksyncClient(limited_server.url, user.token, backoff=FAST, retries=0) as client,
        LiveTasks(client, backoff=FAST) as live,
    ):
        made = [await live.create(f"queued {i}") for i in range(8)]
        await live.flushed(timeout=20)
        page = await client.changes(since=0)
        assert [e.task_id for e in page.events] == [task.id for task in made]
