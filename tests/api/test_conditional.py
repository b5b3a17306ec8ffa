"""ETag on single-task responses and `If-Match` on every kind of write."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, create, fetch, list_ids
from tests.support import User

Write = Callable[[httpx.AsyncClient, str, dict[str, str]], Awaitable[httpx.Response]]


async def put(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    return await client.put(url, json={"title": "put"}, headers=headers)


async def patch(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    return await client.patch(url, json={"description": "patched"}, headers=headers)


async def complete(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    return await client.patch(f"{url}/complete", headers=headers)


async def delete(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    return await client.delete(url, headers=headers)


WRITES: list[Write] = [put, patch, complete, delete]
WRITE_IDS = ["PUT", "PATCH", "complete", "DELETE"]


async def edited_twice(client: httpx.AsyncClient, user: User) -> dict[str, Any]:
    """A task at version 2, so that `"1"` is stale."""
    task = await create(client, user, title="original")
    response = await client.patch(f"/api/tasks/{task['id']}", json={"title": "edited"}, headers=user.headers)
    assert response.json()["version"] == 2
    current: dict[str, Any] = response.json()
    return current


def succeeded(response: httpx.Response, write: Write) -> None:
    if write is delete:
        assert response.status_code == 204
    else:
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"3"'
        assert response.json()["version"] == 3


async def test_every_single_task_response_has_an_etag(client: httpx.AsyncClient, user: User) -> None:
    created = await client.post("/api/tasks", json={"title": "e"}, headers=user.headers)
    url = f"/api/tasks/{created.json()['id']}"
    responses = [
        created,
        await client.get(url, headers=user.headers),
        await client.put(url, json={"title": "e2"}, headers=user.headers),
        await client.patch(url, json={"title": "e3"}, headers=user.headers),
        await client.patch(f"{url}/complete", headers=user.headers),
    ]
    for version, response in enumerate(responses[1:], start=1):
        assert response.headers["etag"] == f'"{response.json()["version"]}"' == f'"{version}"'
    assert created.headers["etag"] == '"1"'
    assert "etag" not in (await client.get("/api/tasks", headers=user.headers)).headers


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
async def test_matching_if_match_is_applied(client: httpx.AsyncClient, user: User, write: Write) -> None:
    task = await edited_twice(client, user)
    response = await write(client, f"/api/tasks/{task['id']}", {**user.headers, "If-Match": '"2"'})
    succeeded(response, write)


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("if_match", ['"1"', 'W/"2"', "2", '"3"', '"1", W/"2"'])
async def test_stale_or_weak_if_match_is_412_with_current(
    client: httpx.AsyncClient, user: User, write: Write, if_match: str
) -> None:
    task = await edited_twice(client, user)
    response = await write(client, f"/api/tasks/{task['id']}", {**user.headers, "If-Match": if_match})
    problem = assert_problem(response, 412)
    assert problem["current"] == task
    assert await fetch(client, user, task["id"]) == task


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
@pytest.mark.parametrize("if_match", ["*", '"1", "2"'])
async def test_star_or_a_list_containing_the_current_tag_matches(
    client: httpx.AsyncClient, user: User, write: Write, if_match: str
) -> None:
    task = await edited_twice(client, user)
    response = await write(client, f"/api/tasks/{task['id']}", {**user.headers, "If-Match": if_match})
    succeeded(response, write)


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
async def test_if_match_star_on_a_missing_task_is_404(
    client: httpx.AsyncClient, user: User, write: Write
) -> None:
    task = await create(client, user)
    await client.delete(f"/api/tasks/{task['id']}", headers=user.headers)
    response = await write(client, f"/api/tasks/{task['id']}", {**user.headers, "If-Match": "*"})
    assert_problem(response, 404)


async def test_without_if_match_the_last_writer_wins(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="v1")
    url = f"/api/tasks/{task['id']}"
    # Two clients both read version 1, then both write without a precondition.
    first = await client.put(url, json={"title": "from tab A"}, headers=user.headers)
    second = await client.put(url, json={"title": "from tab B"}, headers=user.headers)
    assert (first.status_code, second.status_code) == (200, 200)
    final = await fetch(client, user, task["id"])
    assert (final["title"], final["version"]) == ("from tab B", 3)


async def test_a_stale_writer_loses_and_can_retry_with_current(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="v1")
    url = f"/api/tasks/{task['id']}"
    seen = '"1"'
    won = await client.put(url, json={"title": "A"}, headers={**user.headers, "If-Match": seen})
    lost = await client.put(url, json={"title": "B"}, headers={**user.headers, "If-Match": seen})
    current = assert_problem(lost, 412)["current"]
    assert current == won.json()
    retried = await client.put(
        url, json={"title": "B"}, headers={**user.headers, "If-Match": f'"{current["version"]}"'}
    )
    assert retried.status_code == 200 and retried.json()["title"] == "B"


async def test_stale_delete_keeps_the_task(client: httpx.AsyncClient, user: User) -> None:
    task = await edited_twice(client, user)
    response = await client.delete(f"/api/tasks/{task['id']}", headers={**user.headers, "If-Match": '"1"'})
    assert_problem(response, 412)
    assert await list_ids(client, user) == [task["id"]]


async def test_concurrent_conditional_writes_have_exactly_one_winner(
    client: httpx.AsyncClient, user: User
) -> None:
    task = await create(client, user)
    url = f"/api/tasks/{task['id']}"
    responses = await asyncio.gather(
        *(
            client.put(url, json={"title": f"writer {n}"}, headers={**user.headers, "If-Match": '"1"'})
            for n in range(5)
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 412, 412, 412, 412]
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert all(r.json()["current"] == winner for r in responses if r.status_code == 412)
    assert await fetch(client, user, task["id"]) == winner


async def test_concurrent_toggles_lose_no_update(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user)
    url = f"/api/tasks/{task['id']}/complete"
    responses = await asyncio.gather(*(client.patch(url, headers=user.headers) for _ in range(5)))
    assert sorted(r.json()["version"] for r in responses) == [2, 3, 4, 5, 6]
    final = await fetch(client, user, task["id"])
    assert (final["version"], final["completed"]) == (6, True)
