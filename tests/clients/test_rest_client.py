"""`TasksyncClient` against a real server: every operation, the typed errors, retries
that never create twice, pagination, and the changes feed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import httpx
import pytest
from tasksync_client import (
    NotFound,
    PreconditionFailed,
    ServerError,
    StreamClosed,
    Task,
    TasksyncClient,
    TransportError,
    Unauthorized,
    ValidationError,
    is_auth_failure,
    is_retryable,
)
from tasksync_client.models import Problem

from tests.clients.conftest import client_of
from tests.support import ServerProcess, User, metric, mint, wait_for_metric

pytestmark = pytest.mark.postgres


async def test_crud_round_trip(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token) as client:
        created = await client.create("Buy milk", description="2 litres", due_date=date(2026, 12, 1))
        assert (created.title, created.description, created.due_date, created.version) == (
            "Buy milk",
            "2 litres",
            date(2026, 12, 1),
            1,
        )
        assert await client.get(created.id) == created

        replaced = await client.replace(created, title="Buy oat milk")
        assert (replaced.title, replaced.description, replaced.due_date, replaced.version) == (
            "Buy oat milk",
            "",
            None,
            2,
        )

        patched = await client.update(replaced, description="1 litre", due_date="2026-12-24")
        assert (patched.title, patched.description, patched.due_date) == (
            "Buy oat milk",
            "1 litre",
            date(2026, 12, 24),
        )
        reset = await client.update(patched, description=None, due_date=None)
        assert (reset.description, reset.due_date, reset.version) == ("", None, 4)

        done = await client.complete(reset)
        assert done.completed and not (await client.complete(done, False)).completed

        await client.delete(created)
        with pytest.raises(NotFound) as missing:
            await client.get(created.id)
        assert missing.value.status == 404 and missing.value.problem.status == 404


async def test_stale_if_match_raises_with_the_current_task(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token) as client:
        first = await client.create("draft")
        second = await client.update(first, title="final", if_match=first)
        writes = [
            lambda: client.update(first, title="lost", if_match=first),
            lambda: client.replace(first, title="lost", if_match=first.version),
            lambda: client.complete(first, if_match=first),
            lambda: client.delete(first, if_match=first),
        ]
        for write in writes:
            with pytest.raises(PreconditionFailed) as stale:
                await write()
            assert stale.value.status == 412
            assert stale.value.current == second
        assert await client.get(first.id) == second


async def test_missing_and_foreign_tasks_are_not_found(server: ServerProcess, user: User) -> None:
    other = User()
    async with client_of(server, user.token) as mine, client_of(server, other.token) as theirs:
        foreign = await theirs.create("not yours")
        for task_id in (foreign.id, "no-such-task", "../../tasks", "a b/c?d"):
            with pytest.raises(NotFound):
                await mine.get(task_id)
            with pytest.raises(NotFound):
                await mine.update(task_id, title="x")
        assert await theirs.get(foreign.id) == foreign


async def test_invalid_input_raises_validation_errors_naming_the_fields(
    server: ServerProcess, user: User
) -> None:
    async with client_of(server, user.token) as client:
        with pytest.raises(ValidationError) as invalid:
            await client.create("   ", description="x" * 10_001)
        assert invalid.value.status == 422
        assert {error.name for error in invalid.value.errors} == {"title", "description"}
        with pytest.raises(ValidationError) as bad_limit:
            await client.list_tasks(limit=0)
        assert [error.name for error in bad_limit.value.errors] == ["limit"]


async def test_refused_tokens(server: ServerProcess, user: User) -> None:
    async with client_of(server, mint(user.id, ttl=-60)) as expired:
        with pytest.raises(Unauthorized) as refused:
            await expired.list_tasks()
        assert refused.value.headers["www-authenticate"].startswith("Bearer")
        assert refused.value.detail

    # A provider gets one chance to replace a refused token.
    handed_out: list[str] = []

    async def provider() -> str:
        handed_out.append(mint(user.id, ttl=-60 if not handed_out else 3600))
        return handed_out[-1]

    async with client_of(server, provider) as renewing:
        assert (await renewing.list_tasks()).items == []
        assert len(handed_out) == 2


class LoseAnswers(httpx.AsyncBaseTransport):
    """Delivers every request to the server, but loses the answers to the first `count`
    requests of `method`, as a connection dropped after the request was sent would."""

    def __init__(self, method: str, count: int = 1) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.method = method
        self.count = count
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == self.method:
            self.sent.append(request)
            if len(self.sent) <= self.count:
                await response.aclose()
                raise httpx.ReadError("connection reset after the request was sent", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_create_retried_after_a_lost_answer_creates_one_task(
    server: ServerProcess, user: User
) -> None:
    transport = LoseAnswers("POST")
    async with TasksyncClient(server.url, user.token, transport=transport) as client:
        task = await client.create("exactly once")
        keys = {post.headers["idempotency-key"] for post in transport.sent}
        assert len(transport.sent) == 2 and len(keys) == 1
        assert [t.id async for t in client.iter_tasks()] == [task.id]
        assert (await client.changes()).seq == 1


async def test_a_delete_retried_after_a_lost_answer_succeeds(server: ServerProcess, user: User) -> None:
    transport = LoseAnswers("DELETE")
    async with TasksyncClient(server.url, user.token, transport=transport) as client:
        task = await client.create("going")
        await client.delete(task)  # the replay finds it gone: that is what was asked
        assert len(transport.sent) == 2
        with pytest.raises(NotFound):
            await client.get(task.id)


async def test_an_edit_whose_answers_are_all_lost_applies_once(server: ServerProcess, user: User) -> None:
    transport = LoseAnswers("PATCH", count=9)
    async with TasksyncClient(server.url, user.token, transport=transport) as client:
        task = await client.create("complete me")
        with pytest.raises(TransportError) as lost:
            await client.complete(task)
        assert lost.value.sent and len(transport.sent) == 3  # the first attempt and two retries
        # Applied once, though sent three times: each replay would have made a version.
        done = await client.get(task.id)
        assert (done.completed, done.version) == (True, 2)


async def test_idempotency_keys(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token) as client:
        key = str(uuid.uuid4())
        first = await client.create("once", idempotency_key=key)
        assert await client.create("once", idempotency_key=key) == first
        with pytest.raises(ValidationError) as reused:
            await client.create("another body", idempotency_key=key)
        assert [error.name for error in reused.value.errors] == ["Idempotency-Key"]
        assert [t.id async for t in client.iter_tasks()] == [first.id]


async def test_pages_and_filters(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token) as client:
        created = [await client.create(f"task {i}", completed=i % 3 == 0) for i in range(7)]
        page = await client.list_tasks(limit=3, order="asc")
        assert page.items == created[:3] and page.next_cursor is not None
        assert [t async for t in client.iter_tasks(order="asc", page_size=3)] == created
        pending = [t async for t in client.iter_tasks(status="pending", order="asc", page_size=2)]
        assert pending == [t for t in created if not t.completed]
        by_title = [t.title async for t in client.iter_tasks(sort="title", order="desc", page_size=4)]
        assert by_title == sorted((t.title for t in created), reverse=True)
        snapshot = await client.snapshot(page_size=2)
        assert snapshot.tasks == created and snapshot.seq == 7


async def test_changes_carry_the_client_id_of_every_write(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token, client_id="tab-7") as client:
        task = await client.create("a")
        task = await client.update(task, title="b")
        task = await client.replace(task, title="c")
        task = await client.complete(task)
        await client.delete(task)
        page = await client.changes(since=0)
        assert [(e.seq, e.type, e.origin) for e in page.events] == [
            (1, "task.created", "tab-7"),
            (2, "task.updated", "tab-7"),
            (3, "task.updated", "tab-7"),
            (4, "task.updated", "tab-7"),
            (5, "task.deleted", "tab-7"),
        ]
        assert page.events[-1].task.id == task.id and page.events[-1].task.version == 4
        assert (page.seq, page.resync) == (5, False)
        assert (await client.changes(since=2, limit=2)).events == page.events[2:4]
        assert (await client.changes(since=99)).resync


async def test_long_poll_answers_when_a_change_arrives(server: ServerProcess, user: User) -> None:
    async with client_of(server, user.token) as client:
        parked = await metric(server.url, "tasksync_open_streams", transport="poll")
        poll = asyncio.create_task(client.changes(since=0, wait=30))
        # The write comes only once the poll waits on the server: an answer given at once
        # (nothing to wait for) cannot pass for one woken by the change.
        await wait_for_metric(server.url, "tasksync_open_streams", lambda n: n > parked, transport="poll")
        assert not poll.done()
        created = await client.create("wake up")
        # Well before the poll's own 30 s are up.
        page = await asyncio.wait_for(poll, timeout=20)
        assert [e.task for e in page.events] == [created]


def test_retryable_and_fatal_errors() -> None:
    problem = Problem(status=503)
    assert is_retryable(TransportError("reset"))
    assert is_retryable(ServerError(503, problem))
    assert not is_retryable(NotFound(404, Problem(status=404)))
    assert not is_retryable(ValidationError(422, Problem(status=422)))
    for code in (1006, 1011, 1012, 4408):
        assert is_retryable(StreamClosed(code))
    for code in (1003, 1008, 1009, 4401, 4403):
        assert not is_retryable(StreamClosed(code))
    assert is_auth_failure(StreamClosed(4401)) and is_auth_failure(Unauthorized(401, Problem(status=401)))
    assert isinstance(Task.model_validate_json(_TASK_JSON), Task)


_TASK_JSON = (
    '{"id":"t1","title":"x","description":"","completed":false,"due_date":null,'
    '"created_at":"2026-11-20T10:00:00.000Z","updated_at":"2026-11-20T10:00:00.000Z","version":1,'
    '"a_member_of_a_newer_server":true}'
)
