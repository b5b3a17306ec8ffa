"""Client-chosen ids: `PUT /api/tasks/{id}` with `If-None-Match: *` creates the task
under that id, for clients that create while offline. Ids are scoped to their user."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.api.helpers import assert_problem, error_fields, events, fetch, list_ids
from tests.support import User

CREATE = {"If-None-Match": "*"}


async def put_create(
    client: httpx.AsyncClient, user: User, task_id: str, body: object = None, **extra: str
) -> httpx.Response:
    return await client.put(
        f"/api/tasks/{task_id}",
        json={"title": "offline"} if body is None else body,
        headers={**user.headers, **CREATE, **extra},
    )


async def test_creates_the_task_under_the_chosen_id(client: httpx.AsyncClient, user: User) -> None:
    task_id = str(uuid.uuid4())
    response = await put_create(
        client, user, task_id, {"title": "  Buy milk ", "due_date": "2026-12-24"}, **{"X-Client-Id": "phone"}
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert (task["id"], task["title"], task["due_date"], task["version"]) == (
        task_id,
        "Buy milk",
        "2026-12-24",
        1,
    )
    assert (task["description"], task["completed"]) == ("", False)
    assert response.headers["etag"] == '"1"'
    assert await fetch(client, user, task_id) == task
    [event] = await events(client, user)
    assert (event["type"], event["task"], event["origin"], event["seq"]) == ("task.created", task, "phone", 1)
    # The task is a task like any other: edited, toggled, deleted by its id.
    assert (await client.patch(f"/api/tasks/{task_id}/complete", headers=user.headers)).json()["completed"]
    assert (await client.delete(f"/api/tasks/{task_id}", headers=user.headers)).status_code == 204
    assert await list_ids(client, user) == []


async def test_an_existing_id_is_412_with_the_current_task(client: httpx.AsyncClient, user: User) -> None:
    task_id = str(uuid.uuid4())
    first = await put_create(client, user, task_id, {"title": "first"})
    again = await put_create(client, user, task_id, {"title": "second"})
    problem = assert_problem(again, 412)
    assert problem["current"] == first.json()
    assert (await fetch(client, user, task_id))["title"] == "first"
    assert len(await events(client, user)) == 1


async def test_concurrent_creates_of_one_id_make_one_task(client: httpx.AsyncClient, user: User) -> None:
    task_id = str(uuid.uuid4())
    responses = await asyncio.gather(
        *(put_create(client, user, task_id, {"title": f"t{i}"}) for i in range(5))
    )
    assert sorted(r.status_code for r in responses) == [201, 412, 412, 412, 412]
    assert await list_ids(client, user) == [task_id]
    assert len(await events(client, user)) == 1


@pytest.mark.parametrize(
    "task_id",
    [
        "0B5E2C1A-3F4D-4E5F-8A9B-0C1D2E3F4A5B",  # upper case
        "0b5e2c1a3f4d4e5f8a9b0c1d2e3f4a5b",  # no hyphens
        "{0b5e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b}",
        "urn:uuid:0b5e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5b",
        "0b5e2c1a-3f4d-4e5f-8a9b-0c1d2e3f4a5",  # one digit short
        "not-a-uuid",
        "x" * 300,
        "%C3%A9t%C3%A9",
    ],
)
async def test_a_non_canonical_id_is_422(client: httpx.AsyncClient, user: User, task_id: str) -> None:
    problem = assert_problem(await put_create(client, user, task_id), 422)
    assert "id" in error_fields(problem)
    assert await list_ids(client, user) == []


async def test_only_star_and_never_with_if_match(client: httpx.AsyncClient, user: User) -> None:
    task_id = str(uuid.uuid4())
    url = f"/api/tasks/{task_id}"
    for extra in ({"If-None-Match": '"1"'}, {"If-None-Match": "*", "If-Match": '"1"'}):
        response = await client.put(url, json={"title": "x"}, headers={**user.headers, **extra})
        assert "If-None-Match" in error_fields(assert_problem(response, 422))
    # Without If-None-Match a PUT only replaces: a missing id is simply not found.
    assert_problem(await client.put(url, json={"title": "x"}, headers=user.headers), 404)
    # The body is validated as any PUT's.
    assert "title" in error_fields(
        assert_problem(await put_create(client, user, task_id, {"title": " "}), 422)
    )
    assert await list_ids(client, user) == []


async def test_one_id_under_two_users_is_two_tasks(
    client: httpx.AsyncClient, user: User, other_user: User
) -> None:
    task_id = str(uuid.uuid4())
    mine = await put_create(client, user, task_id, {"title": "mine"})
    # The other user cannot learn that the id exists: their create succeeds.
    theirs = await put_create(client, other_user, task_id, {"title": "theirs"})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert (await fetch(client, user, task_id))["title"] == "mine"
    assert (await fetch(client, other_user, task_id))["title"] == "theirs"
    # Writes by one touch only their own task.
    patched = await client.patch(
        f"/api/tasks/{task_id}", json={"title": "renamed"}, headers=other_user.headers
    )
    assert patched.json()["title"] == "renamed"
    assert (await client.delete(f"/api/tasks/{task_id}", headers=other_user.headers)).status_code == 204
    assert await fetch(client, user, task_id) == mine.json()
    assert_problem(await client.get(f"/api/tasks/{task_id}", headers=other_user.headers), 404)
    assert [e["task"]["title"] for e in await events(client, user)] == ["mine"]
    assert [e["type"] for e in await events(client, other_user)] == [
        "task.created",
        "task.updated",
        "task.deleted",
    ]


async def test_post_ignores_an_id_in_the_body(client: httpx.AsyncClient, user: User) -> None:
    chosen = str(uuid.uuid4())
    response = await client.post("/api/tasks", json={"title": "x", "id": chosen}, headers=user.headers)
    assert response.status_code == 201 and response.json()["id"] != chosen
