"""The REST client's part of offline-first: creates under a client-chosen id, an
`Idempotency-Key` on every write (a retry replays, never repeats), and the
`Tasksync-Seq` of every write's answer."""

from __future__ import annotations

import uuid

import httpx
import pytest
from tasksync_client import (
    PreconditionFailed,
    TasksyncClient,
    ValidationError,
    WriteRequest,
)

from tests.clients.conftest import client_of
from tests.support import ServerProcess, User

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
            WriteRequest("PATCH", path + "/complete", if_match=3),
            WriteRequest("DELETE", path, if_match=4),
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
        assert [e.type for e in page.events] == ["task.created"] + ["task.updated"] * 3 + ["task.deleted"]
        with pytest.raises(ValidationError) as reused:  # a used key, another request
            await client.write(
                WriteRequest("POST", "/api/tasks", {"title": "x"}, idempotency_key=writes[0].idempotency_key)
            )
        assert reused.value.status == 422


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
        task = await setup.create("toggle me", completed=False)
    transport = LoseAnswers(count=2)
    async with TasksyncClient(server.url, user.token, transport=transport, retries=2) as client:
        toggled = await client.toggle(task, if_match=task)  # two answers lost, the third arrives
        assert len(transport.keys) == 3 and len(set(transport.keys)) == 1
        assert (toggled.completed, toggled.version) == (True, 2)
        assert len((await client.changes(since=1)).events) == 1
