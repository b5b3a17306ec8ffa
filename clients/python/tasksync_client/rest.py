"""`TasksyncClient`: the REST API as typed async methods."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator
from datetime import date
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import httpx

from tasksync_client.auth import Credentials, TokenProvider
from tasksync_client.backoff import Backoff
from tasksync_client.models import ChangesPage, Snapshot, Task, TaskPage
from tasksync_client.session import ApiSession, Params

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
    """The type of `UNSET`: "leave this field as it is" in `patch()`."""

    UNSET = "UNSET"


UNSET = Unset.UNSET


class TasksyncClient:
    """An async client of the Tasksync API, for one user (the token's `sub`).

    ```python
    async with TasksyncClient("http://127.0.0.1:8000", token) as client:
        task = await client.create("Buy milk", due_date=date(2026, 12, 1))
        task = await client.patch(task, description="2 litres", if_match=task)
        async for each in client.iter_tasks(status="pending", sort="due_date"):
            print(each.title, each.due_date)
    ```

    `token` is a bearer token, or an async callable returning a fresh one: it is called
    ahead of the current token's `exp` (read from the JWT, not verified) and after a
    401. Every write carries `X-Client-Id: client_id` (random unless given), which the
    server hands back as the `origin` of the change event the write causes, so a live
    mirror can tell its own echo. Creates carry a generated `Idempotency-Key`, reused
    if the request has to be sent again, so a retried create never makes two tasks.

    Errors are raised as `ApiError` subclasses (`NotFound`, `PreconditionFailed`,
    `ValidationError`, …) carrying the server's problem document, or `TransportError`.
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
        return Task.model_validate_json(await self._get(_path(task)))

    async def create(
        self,
        title: str,
        *,
        description: str = "",
        completed: bool = False,
        due_date: date | str | None = None,
        idempotency_key: str | None = None,
    ) -> Task:
        """Create a task. A retry with the same `idempotency_key` (and the same fields)
        returns the first answer instead of creating another task."""
        body = _fields(title, description, completed, due_date)
        headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
        response = await self.session.request(
            "POST", "/api/tasks", json=body, headers=headers, replayable=True
        )
        return Task.model_validate_json(response.content)

    async def replace(
        self,
        task: TaskRef,
        *,
        title: str,
        description: str = "",
        completed: bool = False,
        due_date: date | str | None = None,
        if_match: Version | None = None,
    ) -> Task:
        """`PUT`: set every editable field; the ones not given return to their defaults."""
        body = _fields(title, description, completed, due_date)
        return await self._write("PUT", _path(task), body, if_match)

    async def patch(
        self,
        task: TaskRef,
        *,
        title: str | Unset = UNSET,
        description: str | None | Unset = UNSET,
        completed: bool | None | Unset = UNSET,
        due_date: date | str | None | Unset = UNSET,
        if_match: Version | None = None,
    ) -> Task:
        """Change the given fields only (JSON merge patch); `None` resets a field."""
        given = {"title": title, "description": description, "completed": completed, "due_date": due_date}
        body = {name: _jsonable(value) for name, value in given.items() if value is not UNSET}
        return await self._write("PATCH", _path(task), body, if_match)

    async def toggle(self, task: TaskRef, *, if_match: Version | None = None) -> Task:
        """Flip `completed`. Not replayable: it is sent again only if it surely never arrived."""
        headers = _if_match(if_match)
        response = await self.session.request(
            "PATCH", _path(task) + "/complete", headers=headers, replayable=False
        )
        return Task.model_validate_json(response.content)

    async def delete(self, task: TaskRef, *, if_match: Version | None = None) -> None:
        await self.session.request(
            "DELETE",
            _path(task),
            headers=_if_match(if_match),
            replayable=if_match is None,
            applied_if=(404,),
        )

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

    async def _write(self, method: str, path: str, body: dict[str, Any], if_match: Version | None) -> Task:
        headers = _if_match(if_match)
        if method == "PATCH":
            headers["Content-Type"] = "application/merge-patch+json"
        # A conditional write is not replayed after an ambiguous failure: had the first
        # attempt gone through, the replay would fail with a misleading 412.
        response = await self.session.request(
            method, path, json=body, headers=headers, replayable=if_match is None
        )
        return Task.model_validate_json(response.content)


def _path(task: TaskRef) -> str:
    task_id = task.id if isinstance(task, Task) else task
    if not task_id:
        raise ValueError("a task id must not be empty")
    return "/api/tasks/" + quote(task_id, safe="")


def _if_match(version: Version | None) -> dict[str, str]:
    if version is None:
        return {}
    number = version.version if isinstance(version, Task) else version
    return {"If-Match": f'"{number}"'}


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _fields(title: str, description: str, completed: bool, due_date: date | str | None) -> dict[str, Any]:
    return {
        "title": title,
        "description": description,
        "completed": completed,
        "due_date": _jsonable(due_date),
    }
