"""Create, read, replace, patch, toggle and delete one task (PROTOCOL.md, REST)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from server.tasks import operations as task_ops
from tests.api.helpers import assert_problem, create, error_fields, events, fetch, list_ids
from tests.support import User

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def ticking_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each write sees a clock one second later, so timestamps differ without sleeping."""
    start = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    ticks = iter(range(1, 1_000_000))
    monkeypatch.setattr(task_ops, "now", lambda: start + timedelta(seconds=next(ticks)))
    yield


async def test_create_returns_201_with_etag_and_defaults(client: httpx.AsyncClient, user: User) -> None:
    response = await client.post("/api/tasks", json={"title": "  Buy milk \n"}, headers=user.headers)
    assert response.status_code == 201
    assert response.headers["etag"] == '"1"'
    task = response.json()
    assert task["title"] == "Buy milk"
    assert (task["description"], task["completed"], task["due_date"], task["version"]) == ("", False, None, 1)
    assert isinstance(task["id"], str) and task["id"]
    assert task["created_at"] == task["updated_at"]
    assert task["created_at"].endswith("Z")
    assert await fetch(client, user, task["id"]) == task


async def test_create_takes_every_editable_field(client: httpx.AsyncClient, user: User) -> None:
    body = {"title": "Pay rent", "description": "by transfer", "completed": True, "due_date": "2026-12-01"}
    task = await create(client, user, **body)
    assert {name: task[name] for name in body} == body


async def test_create_ignores_server_owned_and_unknown_fields(
    client: httpx.AsyncClient, user: User, other_user: User
) -> None:
    body = {
        "title": "mine",
        "id": "00000000-0000-4000-8000-000000000000",
        "version": 99,
        "user_id": other_user.id,
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
        "colour": "red",
    }
    task = await create(client, user, **body)
    assert task["id"] != body["id"]
    assert task["version"] == 1
    assert not task["created_at"].startswith("2000")
    assert "colour" not in task and "user_id" not in task
    assert await list_ids(client, user) == [task["id"]]
    assert await list_ids(client, other_user) == []


async def test_get_returns_the_task_with_etag(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="read me")
    response = await client.get(f"/api/tasks/{task['id']}", headers=user.headers)
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert response.json() == task


async def test_put_replaces_and_resets_omitted_fields(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="old", description="d", completed=True, due_date="2026-01-02")
    response = await client.put(f"/api/tasks/{task['id']}", json={"title": " new "}, headers=user.headers)
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    replaced = response.json()
    assert replaced["title"] == "new"
    assert (replaced["description"], replaced["completed"], replaced["due_date"]) == ("", False, None)
    assert replaced["version"] == 2
    assert await fetch(client, user, task["id"]) == replaced


async def test_put_requires_title(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="keep")
    response = await client.put(
        f"/api/tasks/{task['id']}", json={"description": "no title"}, headers=user.headers
    )
    assert "title" in error_fields(assert_problem(response, 422))
    assert await fetch(client, user, task["id"]) == task


@pytest.mark.parametrize("headers", [{}, MERGE_PATCH], ids=["json", "merge-patch"])
async def test_patch_changes_only_present_members(
    client: httpx.AsyncClient, user: User, headers: dict[str, str]
) -> None:
    task = await create(client, user, title="t", description="d", due_date="2026-05-01")
    response = await client.patch(
        f"/api/tasks/{task['id']}",
        content=b'{"completed": true, "version": 7}',
        headers={"Content-Type": "application/json", **user.headers, **headers},
    )
    assert response.status_code == 200
    assert response.headers["etag"] == '"2"'
    patched = response.json()
    assert patched == {**task, "completed": True, "version": 2, "updated_at": patched["updated_at"]}


async def test_patch_null_resets_optional_fields(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="t", description="d", completed=True, due_date="2026-05-01")
    response = await client.patch(
        f"/api/tasks/{task['id']}",
        json={"description": None, "completed": None, "due_date": None},
        headers={**user.headers, **MERGE_PATCH},
    )
    assert response.status_code == 200
    patched = response.json()
    assert (patched["title"], patched["description"], patched["completed"], patched["due_date"]) == (
        "t",
        "",
        False,
        None,
    )


async def test_patch_null_title_is_422(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="t")
    response = await client.patch(
        f"/api/tasks/{task['id']}", json={"title": None}, headers={**user.headers, **MERGE_PATCH}
    )
    assert error_fields(assert_problem(response, 422)) == {"title"}
    assert await fetch(client, user, task["id"]) == task


async def test_complete_toggles(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user)
    first = await client.patch(f"/api/tasks/{task['id']}/complete", headers=user.headers)
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    assert first.json()["completed"] is True
    second = await client.patch(f"/api/tasks/{task['id']}/complete", headers=user.headers)
    assert (second.json()["completed"], second.json()["version"]) == (False, 3)


async def test_delete_is_204_then_404(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user)
    response = await client.delete(f"/api/tasks/{task['id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"/api/tasks/{task['id']}", headers=user.headers), 404)
    assert_problem(await client.delete(f"/api/tasks/{task['id']}", headers=user.headers), 404)
    assert await list_ids(client, user) == []


@pytest.mark.usefixtures("ticking_clock")
async def test_every_change_bumps_version_and_updated_at_only(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="v")
    url = f"/api/tasks/{task['id']}"
    writes: list[tuple[str, dict[str, Any] | None]] = [
        ("PUT", {"title": "v2"}),
        ("PATCH", {"description": "x"}),
        ("PATCH", {"title": "v3"}),
        ("PATCH_COMPLETE", None),
    ]
    previous = task
    for method, body in writes:
        if method == "PATCH_COMPLETE":
            response = await client.patch(f"{url}/complete", headers=user.headers)
        else:
            response = await client.request(method, url, json=body, headers=user.headers)
        current = response.json()
        assert current["version"] == previous["version"] + 1
        assert response.headers["etag"] == f'"{current["version"]}"'
        assert current["updated_at"] > previous["updated_at"]
        assert current["created_at"] == task["created_at"]
        previous = current
    assert previous["version"] == 5


async def test_x_client_id_becomes_the_event_origin(client: httpx.AsyncClient, user: User) -> None:
    def tab(name: str) -> dict[str, str]:
        return {**user.headers, "X-Client-Id": name}

    created = await client.post("/api/tasks", json={"title": "t"}, headers=tab("tab-1"))
    url = f"/api/tasks/{created.json()['id']}"
    await client.patch(url, json={"title": "echo"}, headers=tab("tab-2"))
    await client.put(url, json={"title": "again"}, headers=user.headers)
    await client.patch(f"{url}/complete", headers=tab("tab-1"))
    await client.delete(url, headers=tab("tab-3"))
    log = await events(client, user)
    assert [(e["type"], e["origin"]) for e in log] == [
        ("task.created", "tab-1"),
        ("task.updated", "tab-2"),
        ("task.updated", None),
        ("task.updated", "tab-1"),
        ("task.deleted", "tab-3"),
    ]
    assert log[1]["task"]["title"] == "echo"
