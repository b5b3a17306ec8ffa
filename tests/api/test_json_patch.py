"""`PATCH` with `application/json-patch+json`: field-level preconditions (`test`), one
atomic write per document, `409` with `current` and `conflicts`, and `changed` on the
`task.updated` events every write records. Both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, create, error_fields, events, fetch
from tests.support import User

JSON_PATCH = "application/json-patch+json"


async def json_patch(
    client: httpx.AsyncClient, user: User, task_id: str, document: Any, **headers: str
) -> httpx.Response:
    return await client.patch(
        f"/api/tasks/{task_id}",
        json=document,
        headers={**user.headers, "Content-Type": JSON_PATCH, **headers},
    )


def edit(field: str, seen: Any, wanted: Any) -> list[dict[str, Any]]:
    """What an offline-first client sends: a test of the value seen, then the change."""
    return [
        {"op": "test", "path": f"/{field}", "value": seen},
        {"op": "replace", "path": f"/{field}", "value": wanted},
    ]


async def test_edits_of_different_fields_from_two_devices_both_apply(
    client: httpx.AsyncClient, user: User
) -> None:
    task = await create(client, user, title="Buy milk", description="2 litres")
    # Both devices saw version 1; neither knows of the other's change.
    laptop = await json_patch(client, user, task["id"], edit("completed", False, True))
    phone = await json_patch(client, user, task["id"], edit("title", "Buy milk", "Buy oat milk"))
    assert laptop.status_code == 200, laptop.text
    assert phone.status_code == 200, phone.text
    now = await fetch(client, user, task["id"])
    assert (now["title"], now["completed"], now["description"], now["version"]) == (
        "Buy oat milk",
        True,
        "2 litres",
        3,
    )
    assert phone.headers["etag"] == '"3"'


async def test_a_failed_test_is_409_with_current_and_conflicts_and_writes_nothing(
    client: httpx.AsyncClient, user: User
) -> None:
    task = await create(client, user, title="Buy milk")
    await json_patch(client, user, task["id"], edit("title", "Buy milk", "Buy bread"))
    before = await events(client, user)
    document = edit("title", "Buy milk", "Buy oat milk") + edit("completed", False, True)
    response = await json_patch(client, user, task["id"], document)
    problem = assert_problem(response, 409)
    assert problem["type"].endswith("conflict")
    assert problem["current"]["title"] == "Buy bread" and problem["current"]["version"] == 2
    assert problem["conflicts"] == [{"path": "/title", "expected": "Buy milk", "actual": "Buy bread"}]
    # Atomic: the test that held (completed) did not apply either.
    now = await fetch(client, user, task["id"])
    assert (now["completed"], now["version"]) == (False, 2)
    assert await events(client, user) == before


async def test_every_failed_test_is_named(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="a", description="d", due_date="2026-12-01")
    document = [
        {"op": "test", "path": "/description", "value": "other"},
        {"op": "test", "path": "/due_date", "value": None},
        {"op": "test", "path": "/version", "value": 7},
        {"op": "test", "path": "/completed", "value": False},
        {"op": "replace", "path": "/title", "value": "b"},
    ]
    problem = assert_problem(await json_patch(client, user, task["id"], document), 409)
    assert problem["conflicts"] == [
        {"path": "/description", "expected": "other", "actual": "d"},
        {"path": "/due_date", "expected": None, "actual": "2026-12-01"},
        {"path": "/version", "expected": 7, "actual": 1},
    ]


async def test_json_equality_tells_true_from_one_and_dates_by_their_text(
    client: httpx.AsyncClient, user: User
) -> None:
    task = await create(client, user, title="a", due_date="2026-12-01")
    held = [
        {"op": "test", "path": "/due_date", "value": "2026-12-01"},
        {"op": "test", "path": "/version", "value": 1},
        {"op": "replace", "path": "/due_date", "value": None},
    ]
    assert (await json_patch(client, user, task["id"], held)).status_code == 200
    # A test value of the wrong type is refused by name, never compared as equal.
    wrong = [{"op": "test", "path": "/completed", "value": 0}]
    assert error_fields(assert_problem(await json_patch(client, user, task["id"], wrong), 422)) == {"0.value"}


async def test_add_means_replace_and_the_later_replace_of_a_field_wins(
    client: httpx.AsyncClient, user: User
) -> None:
    task = await create(client, user, title="a")
    document = [
        {"op": "add", "path": "/description", "value": "first"},
        {"op": "replace", "path": "/description", "value": "second"},
        {"op": "replace", "path": "/due_date", "value": "2027-01-31"},
        {"op": "replace", "path": "/title", "value": "  padded  "},
    ]
    response = await json_patch(client, user, task["id"], document)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["description"], body["due_date"], body["title"], body["version"]) == (
        "second",
        "2027-01-31",
        "padded",
        2,
    )


async def test_changed_names_the_fields_each_write_set(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="a", description="d")
    url = f"/api/tasks/{task['id']}"
    await json_patch(client, user, task["id"], edit("title", "a", "b") + edit("completed", False, False))
    await client.patch(url, json={"due_date": "2026-12-24", "description": "d"}, headers=user.headers)
    await client.patch(f"{url}/complete", headers=user.headers)
    await client.put(
        url,
        json={"title": "b", "description": "d", "completed": True, "due_date": "2026-12-24"},
        headers=user.headers,
    )
    await client.put(url, json={"title": "c"}, headers=user.headers)
    updates = [e for e in await events(client, user) if e["type"] == "task.updated"]
    assert [e["changed"] for e in updates] == [
        ["title"],
        ["due_date"],
        ["completed"],
        [],
        ["title", "description", "completed", "due_date"],
    ]
    created = next(e for e in await events(client, user) if e["type"] == "task.created")
    assert "changed" not in created


@pytest.mark.parametrize(
    ("document", "status", "named"),
    [
        ({"op": "test"}, 400, None),
        ("not an array", 400, None),
        ([["op", "test"]], 400, None),
        ([{"op": "remove", "path": "/title"}], 422, {"0.op"}),
        ([{"op": "move", "from": "/title", "path": "/description"}], 422, {"0.op"}),
        ([{"op": "replace", "path": "/version", "value": 3}], 422, {"0.path"}),
        ([{"op": "replace", "path": "/id", "value": "x"}], 422, {"0.path"}),
        ([{"op": "replace", "path": "/title/0", "value": "x"}], 422, {"0.path"}),
        ([{"op": "replace", "path": "/title"}], 422, {"0.value"}),
        ([{"op": "replace", "path": "/title", "value": "   "}], 422, {"0.value"}),
        ([{"op": "replace", "path": "/title", "value": None}], 422, {"0.value"}),
        ([{"op": "replace", "path": "/title", "value": "x" * 201}], 422, {"0.value"}),
        ([{"op": "replace", "path": "/description", "value": "a\x00b"}], 422, {"0.value"}),
        ([{"op": "replace", "path": "/completed", "value": "yes"}], 422, {"0.value"}),
        ([{"op": "replace", "path": "/due_date", "value": "20261201"}], 422, {"0.value"}),
        ([{"op": "test", "path": "/version", "value": True}], 422, {"0.value"}),
        (
            [{"op": "test", "path": "/title", "value": 5}, {"op": 1, "path": "/title"}],
            422,
            {"0.value", "1.op"},
        ),
        ([{"op": "replace", "path": "/title", "value": {"deep": [[[[]]]]}}], 422, {"0.value"}),
    ],
)
async def test_malformed_documents_are_named_never_5xx(
    client: httpx.AsyncClient, user: User, document: Any, status: int, named: set[str] | None
) -> None:
    task = await create(client, user, title="kept")
    problem = assert_problem(await json_patch(client, user, task["id"], document), status)
    if named is not None:
        assert error_fields(problem) == named
    assert (await fetch(client, user, task["id"]))["version"] == 1


async def test_works_with_if_match_and_both_must_hold(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="a")
    stale = await json_patch(client, user, task["id"], edit("title", "a", "b"), **{"If-Match": '"9"'})
    assert_problem(stale, 412)
    fresh = await json_patch(client, user, task["id"], edit("title", "a", "b"), **{"If-Match": '"1"'})
    assert fresh.status_code == 200 and fresh.json()["title"] == "b"


async def test_idempotency_key_replays_success_but_judges_a_409_again(
    client: httpx.AsyncClient, user: User
) -> None:
    task = await create(client, user, title="a")
    key = {"Idempotency-Key": "edit-1"}
    first = await json_patch(client, user, task["id"], edit("title", "a", "b"), **key)
    again = await json_patch(client, user, task["id"], edit("title", "a", "b"), **key)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["tasksync-seq"] == first.headers["tasksync-seq"]
    assert again.content == first.content
    # A refused document is not remembered: once the task holds what it tests, its retry applies.
    other = {"Idempotency-Key": "edit-2"}
    refused = await json_patch(client, user, task["id"], edit("title", "c", "d"), **other)
    assert_problem(refused, 409)
    await json_patch(client, user, task["id"], edit("title", "b", "c"))
    retried = await json_patch(client, user, task["id"], edit("title", "c", "d"), **other)
    assert retried.status_code == 200 and retried.json()["title"] == "d"
    assert "idempotent-replayed" not in retried.headers


async def test_tasksync_seq_names_the_event_and_origin_is_the_client_id(
    client: httpx.AsyncClient, user: User
) -> None:
    task = await create(client, user, title="a")
    response = await json_patch(client, user, task["id"], edit("title", "a", "b"), **{"X-Client-Id": "tab-7"})
    seq = int(response.headers["tasksync-seq"])
    (event,) = [e for e in await events(client, user) if e["seq"] == seq]
    assert event["type"] == "task.updated" and event["origin"] == "tab-7" and event["changed"] == ["title"]
    assert event["task"] == response.json()


async def test_another_users_task_is_404(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="mine")
    stranger = User("stranger-json-patch")
    response = await json_patch(client, stranger, task["id"], edit("title", "mine", "theirs"))
    assert_problem(response, 404)
    assert (await fetch(client, user, task["id"]))["title"] == "mine"


async def test_concurrent_tests_of_one_value_have_exactly_one_winner(
    client: httpx.AsyncClient, user: User
) -> None:
    task = await create(client, user, title="a")
    answers = await asyncio.gather(
        *(json_patch(client, user, task["id"], edit("title", "a", f"device {i}")) for i in range(6))
    )
    assert sorted(a.status_code for a in answers) == [200] + [409] * 5
    assert (await fetch(client, user, task["id"]))["version"] == 2
