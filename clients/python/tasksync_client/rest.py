"""`TasksyncClient`: the REST API as typed async methods."""

from __future__ import annotations

import enum
import uuid
import warnings
from collections.abc import AsyncIterator, Coroutine, Mapping
from datetime import date
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import httpx

from tasksync_client.auth import Credentials, TokenProvider
from tasksync_client.backoff import Backoff
from tasksync_client.errors import ProtocolError
from tasksync_client.models import ChangesPage, Snapshot, Task, TaskPage
from tasksync_client.session import ApiSession, Params
from tasksync_client.writes import Body, Method, WriteRequest, WriteResult, json_patch, new_key

Status = Literal["all", "pending", "completed"]
Sort = Literal["created", "title", "due_date"]
Order = Literal["asc", "desc"]
TaskRef = str | Task
"""A task id, or a task (its id is used)."""
Version = int | Task
"""An `If-Match` version, or a task (its version is used)."""

# The server's largest page; a snapshot takes as few requests as it can.
MAX_PAGE = 500
# The contract's bound on X-Client-Id.
CLIENT_ID_MAX = 64


class Unset(enum.Enum):
    """The type of `UNSET`: "leave this field as it is" in `update()`."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


class TasksyncClient:
    """An async client of the Tasksync API, for one user (the token's `sub`).

    ```python
    async with TasksyncClient("http://127.0.0.1:8000", token) as client:
        task = await client.create("Buy milk", due_date=date(2026, 12, 1))
        task = await client.update(task, description="2 litres", if_match=task)
        async for each in client.iter_tasks(status="pending", sort="due_date"):
            print(each.title, each.due_date)
    ```

    `token` is a bearer token, or an async callable returning a fresh one: it is called
    ahead of the current token's `exp` (read from the JWT, not verified) and after a
    401. Every write carries `X-Client-Id: client_id` (random unless given), which the
    server hands back as the `origin` of the change event the write causes, so a live
    mirror can tell its own echo. Every write carries an `Idempotency-Key` (generated
    unless given), reused when the request has to be sent again, so a retried write
    applies once: a create never makes two tasks, an edit is never applied twice.
    `last_write_seq` is the highest `Tasksync-Seq` of this client's writes: a mirror
    whose `seq` has reached it has seen them all (`write()` gives each one's seq).

    Errors are raised as `ApiError` subclasses (`NotFound`, `PreconditionFailed`,
    `EditConflict`, `ValidationError`, …) carrying the server's problem document, or
    `TransportError`.
    `retries` bounds how often one call is sent again (see `ApiSession.request` for
    when that is safe); `transport` is an httpx transport (custom TLS, proxies, tests).
    """

    def __init__(
        self,
        base_url: str,
        token: str | TokenProvider,
        *,
        client_id: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: Backoff | None = None,
        refresh_margin: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if client_id is not None and not 0 < len(client_id) <= CLIENT_ID_MAX:
            raise ValueError(f"client_id must be 1 to {CLIENT_ID_MAX} characters")
        self.session = ApiSession(
            base_url,
            Credentials(token, refresh_margin=refresh_margin),
            client_id=client_id or f"py-{uuid.uuid4().hex[:16]}",
            timeout=timeout,
            retries=retries,
            backoff=backoff or Backoff(initial=0.2, maximum=2.0),
            transport=transport,
        )
        self.last_write_seq = 0

    @property
    def base_url(self) -> httpx.URL:
        return self.session.base_url

    @property
    def client_id(self) -> str:
        """Sent as `X-Client-Id` on every write; events caused by them carry it as `origin`."""
        return self.session.client_id

    @property
    def credentials(self) -> Credentials:
        """The token source, shared with the live mirrors built on this client."""
        return self.session.credentials

    async def aclose(self) -> None:
        await self.session.aclose()

    async def __aenter__(self) -> TasksyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def list_tasks(
        self,
        *,
        status: Status = "all",
        sort: Sort = "created",
        order: Order = "desc",
        limit: int = 100,
        cursor: str | None = None,
    ) -> TaskPage:
        """One page of tasks; pass its `next_cursor` as `cursor` for the next one."""
        params: dict[str, str | int] = {"status": status, "sort": sort, "order": order, "limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return TaskPage.model_validate_json(await self._get("/api/tasks", params))

    async def iter_tasks(
        self, *, status: Status = "all", sort: Sort = "created", order: Order = "desc", page_size: int = 100
    ) -> AsyncIterator[Task]:
        """Every task matching the filter, fetching pages as the iteration goes."""
        cursor: str | None = None
        while True:
            page = await self.list_tasks(
                status=status, sort=sort, order=order, limit=page_size, cursor=cursor
            )
            for task in page.items:
                yield task
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def snapshot(self, *, page_size: int = MAX_PAGE) -> Snapshot:
        """All tasks and the `seq` to subscribe from (`since=seq`) to stay in sync.

        Pages are read in creation order: a task created or changed while later pages
        are read may be missed or stale here, but its event comes after `seq`, so
        applying the events after `seq` always converges.
        """
        tasks: list[Task] = []
        seq: int | None = None
        cursor: str | None = None
        while True:
            page = await self.list_tasks(sort="created", order="asc", limit=page_size, cursor=cursor)
            seq = page.seq if seq is None else seq
            tasks.extend(page.items)
            if page.next_cursor is None:
                return Snapshot(tasks=tasks, seq=seq)
            cursor = page.next_cursor

    async def get(self, task: TaskRef) -> Task:
        return Task.model_validate_json(await self._get(task_path(task)))

    async def create(
        self,
        title: str,
        *,
        description: str = "",
        completed: bool = False,
        due_date: date | str | None = None,
        id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """Create a task. With `id` (a canonical lower-case UUID of your choosing) it is
        `PUT /api/tasks/{id}` with `If-None-Match: *`, which raises `PreconditionFailed`
        if you already have a task with that id; otherwise the server picks the id."""
        body = task_fields(title, description, completed, due_date)
        if id is None:
            request = WriteRequest("POST", "/api/tasks", body, idempotency_key=idempotency_key or new_key())
        else:
            request = WriteRequest(
                "PUT", task_path(id), body, if_none_match=True, idempotency_key=idempotency_key or new_key()
            )
        return _task(await self.write(request))

    async def replace(
        self,
        task: TaskRef,
        *,
        title: str,
        description: str = "",
        completed: bool = False,
        due_date: date | str | None = None,
        if_match: Version | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """`PUT`: set every editable field; the ones not given return to their defaults."""
        body = task_fields(title, description, completed, due_date)
        return _task(await self.write(_request("PUT", task_path(task), body, if_match, idempotency_key)))

    async def update(
        self,
        task: TaskRef,
        *,
        title: str | Unset = UNSET,
        description: str | None | Unset = UNSET,
        completed: bool | None | Unset = UNSET,
        due_date: date | str | None | Unset = UNSET,
        if_match: Version | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """Change the given fields only (JSON merge patch); `None` resets a field.

        `task = await client.update(task, title="Buy oat milk", if_match=task)`
        """
        body = patch_body(title=title, description=description, completed=completed, due_date=due_date)
        return _task(await self.write(_request("PATCH", task_path(task), body, if_match, idempotency_key)))

    async def update_fields(
        self,
        task: TaskRef,
        changes: Mapping[str, Any],
        *,
        seen: Mapping[str, Any] | None = None,
        if_match: Version | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """Set the given fields (JSON values: a due date as `"YYYY-MM-DD"`) with a JSON
        Patch, each only if it still holds its value in `seen` (fields missing from
        `seen` are set unconditionally). A failed test raises `EditConflict` and writes
        nothing; its `conflicts` name each field, what you expected and what it holds.

        ```python
        await client.update_fields(task, {"title": "Buy oat milk"}, seen={"title": "Buy milk"})
        ```
        """
        body = json_patch(seen or {}, {name: _jsonable(value) for name, value in changes.items()})
        return _task(await self.write(_request("PATCH", task_path(task), body, if_match, idempotency_key)))

    async def complete(
        self,
        task: TaskRef,
        completed: bool = True,
        *,
        if_match: Version | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """Set `completed` (default true), as `update(task, completed=completed)`: never a
        blind flip, so a retry or another device completing it too agrees.

        `await client.complete(task)`; `await client.complete(task, False)`
        """
        return await self.update(
            task, completed=completed, if_match=if_match, idempotency_key=idempotency_key
        )

    async def delete(
        self, task: TaskRef, *, if_match: Version | None = None, idempotency_key: str | None = None
    ) -> None:
        """Delete the task (with `if_match`, only if it still has that version).

        `await client.delete(task, if_match=task)`
        """
        await self.write(_request("DELETE", task_path(task), None, if_match, idempotency_key))

    # The old names, kept working for existing callers. Each is a plain function that
    # warns at the call, so the warning points at the caller's line whether or not the
    # coroutine it returns is ever awaited.

    def patch(
        self,
        task: TaskRef,
        *,
        title: str | Unset = UNSET,
        description: str | None | Unset = UNSET,
        completed: bool | None | Unset = UNSET,
        due_date: date | str | None | Unset = UNSET,
        if_match: Version | None = None,
        idempotency_key: str | None = None,
    ) -> Coroutine[Any, Any, Task]:
        """Deprecated: the name is `update`, as in `LiveTasks` and the browser client."""
        warnings.warn("TasksyncClient.patch() is deprecated; use update()", DeprecationWarning, stacklevel=2)
        return self.update(
            task,
            title=title,
            description=description,
            completed=completed,
            due_date=due_date,
            if_match=if_match,
            idempotency_key=idempotency_key,
        )

    def patch_fields(
        self,
        task: TaskRef,
        changes: Mapping[str, Any],
        *,
        seen: Mapping[str, Any] | None = None,
        if_match: Version | None = None,
        idempotency_key: str | None = None,
    ) -> Coroutine[Any, Any, Task]:
        """Deprecated: the name is `update_fields`."""
        warnings.warn(
            "TasksyncClient.patch_fields() is deprecated; use update_fields()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.update_fields(
            task, changes, seen=seen, if_match=if_match, idempotency_key=idempotency_key
        )

    async def _flip(self, task: TaskRef, if_match: Version | None, idempotency_key: str | None) -> Task:
        request = _request("PATCH", task_path(task) + "/complete", None, if_match, idempotency_key)
        return _task(await self.write(request))

    def toggle(
        self, task: TaskRef, *, if_match: Version | None = None, idempotency_key: str | None = None
    ) -> Coroutine[Any, Any, Task]:
        """Deprecated: flips whatever `completed` the server has now (`PATCH …/complete`);
        `complete(task, completed)` says what the user wants. A retry carries the same
        `Idempotency-Key`, so it never flips twice."""
        warnings.warn(
            "TasksyncClient.toggle() is deprecated; use complete(task, completed)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._flip(task, if_match, idempotency_key)

    async def write(self, request: WriteRequest) -> WriteResult:
        """Send one write as it is described (the methods above all end here).

        Every write carries an `Idempotency-Key`, so it is sent again, with the same key,
        after a dropped connection, a `5xx` or a `429` (up to `retries` times): the
        server applies it once and answers the retry with the first answer.

        ```python
        result = await client.write(WriteRequest("PATCH", f"/api/tasks/{task.id}/complete"))
        print(result.task.completed, "recorded as change", result.seq)
        ```
        """
        response = await self.session.request(
            request.method,
            request.path,
            json=request.body,
            headers=request.headers(),
            replayable=True,
            # Against a server that does not remember keys, a replayed delete finds the
            # task gone: that is what was asked.
            applied_if=(404,) if request.method == "DELETE" else (),
        )
        result = WriteResult.from_response(response)
        if result.seq is not None and result.seq > self.last_write_seq:
            self.last_write_seq = result.seq
        return result

    async def changes(
        self, since: int = 0, *, limit: int | None = None, wait: float | None = None
    ) -> ChangesPage:
        """The change events after `since`; with `wait`, long-poll up to that many seconds."""
        params: dict[str, str | int] = {"since": since}
        if limit is not None:
            params["limit"] = limit
        limits = None
        if wait is not None:
            params["wait"] = max(0, int(wait))
            limits = httpx.Timeout(wait + 15.0, connect=10.0)
        return ChangesPage.model_validate_json(await self._get("/api/changes", params, limits))

    async def _get(
        self, path: str, params: Params | None = None, limits: httpx.Timeout | None = None
    ) -> bytes:
        response = await self.session.request(
            "GET", path, params=params, http_timeout=limits, replayable=True
        )
        return response.content


def task_path(task: TaskRef) -> str:
    task_id = task.id if isinstance(task, Task) else task
    if not task_id:
        raise ValueError("a task id must not be empty")
    return "/api/tasks/" + quote(task_id, safe="")


def version_of(version: Version | None) -> int | None:
    return version.version if isinstance(version, Task) else version


def _request(
    method: Method, path: str, body: Body | None, if_match: Version | None, key: str | None
) -> WriteRequest:
    return WriteRequest(method, path, body, if_match=version_of(if_match), idempotency_key=key or new_key())


def _task(result: WriteResult) -> Task:
    if result.task is None:
        raise ProtocolError(f"a {result.status} answer to a write carried no task")
    return result.task


def patch_body(
    *,
    title: str | Unset = UNSET,
    description: str | None | Unset = UNSET,
    completed: bool | None | Unset = UNSET,
    due_date: date | str | None | Unset = UNSET,
) -> dict[str, Any]:
    """A JSON merge patch of the given fields (UNSET ones are left out)."""
    given = {"title": title, "description": description, "completed": completed, "due_date": due_date}
    return {name: _jsonable(value) for name, value in given.items() if value is not UNSET}


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def task_fields(title: str, description: str, completed: bool, due_date: date | str | None) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "completed": completed,
        "due_date": _jsonable(due_date),
    }
