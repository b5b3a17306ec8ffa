"""`GET /api/tasks`: filter, sorts, keyset pagination, query validation and `seq`."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, create, error_fields, fetch, list_ids, list_page
from tests.conftest import AppFactory
from tests.support import User

SORTS = ["created", "title", "due_date"]
ORDERS = ["asc", "desc"]

# Duplicate titles (in different case) and dates, and several tasks without a date, so
# that every sort has ties that must fall back to creation order.
FIXTURE_TASKS: list[dict[str, Any]] = [
    {"title": "pear", "due_date": "2026-03-01"},
    {"title": "Apple", "due_date": None},
    {"title": "banana", "due_date": "2026-01-15", "completed": True},
    {"title": "apple", "due_date": "2026-03-01"},
    {"title": "Cherry", "due_date": None, "completed": True},
    {"title": "APPLE", "due_date": "2025-12-31"},
    {"title": "date", "due_date": "2026-03-01", "completed": True},
    {"title": "Banana", "due_date": None},
    {"title": "elder", "due_date": "2027-07-07"},
    {"title": "fig", "due_date": "2026-01-15"},
    {"title": "cherry", "due_date": None},
]


def expected_order(created: list[dict[str, Any]], sort: str, order: str) -> list[str]:
    """The contract's ordering, computed independently; `created` is in creation order."""
    indexed = list(enumerate(created))
    desc = order == "desc"
    if sort == "created":
        indexed.sort(key=lambda pair: pair[0], reverse=desc)
    elif sort == "title":
        # Stable sorts: creation order first, then the key (ties keep the oldest first).
        indexed.sort(key=lambda pair: pair[1]["title"].casefold(), reverse=desc)
    else:
        dated = [pair for pair in indexed if pair[1]["due_date"] is not None]
        undated = [pair for pair in indexed if pair[1]["due_date"] is None]
        dated.sort(key=lambda pair: pair[1]["due_date"], reverse=desc)
        indexed = dated + undated
    return [task["id"] for _, task in indexed]


async def seeded(client: httpx.AsyncClient, user: User) -> list[dict[str, Any]]:
    return [await create(client, user, **fields) for fields in FIXTURE_TASKS]


async def walk(client: httpx.AsyncClient, user: User, limit: int, **params: str) -> list[str]:
    """Every id the pages of a query yield, following `next_cursor` to the end."""
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        extra = {"cursor": cursor} if cursor else {}
        page = await list_page(client, user, limit=limit, **params, **extra)
        assert len(page["items"]) <= limit
        ids += [task["id"] for task in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
        assert len(page["items"]) == limit
    raise AssertionError("pagination did not end")


async def test_default_is_all_tasks_newest_first(client: httpx.AsyncClient, user: User) -> None:
    created = await seeded(client, user)
    page = await list_page(client, user)
    assert [task["id"] for task in page["items"]] == [task["id"] for task in reversed(created)]
    assert page["items"] == list(reversed(created))
    assert page["next_cursor"] is None


async def test_status_filter(client: httpx.AsyncClient, user: User) -> None:
    created = await seeded(client, user)
    done = [t["id"] for t in reversed(created) if t["completed"]]
    pending = [t["id"] for t in reversed(created) if not t["completed"]]
    assert await list_ids(client, user, status="completed") == done
    assert await list_ids(client, user, status="pending") == pending
    assert await list_ids(client, user, status="all") == [t["id"] for t in reversed(created)]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("sort", SORTS)
async def test_sort_orders(client: httpx.AsyncClient, user: User, sort: str, order: str) -> None:
    created = await seeded(client, user)
    assert await list_ids(client, user, sort=sort, order=order) == expected_order(created, sort, order)


async def test_title_sort_is_case_insensitive(client: httpx.AsyncClient, user: User) -> None:
    for title in ("cherry", "apple", "Banana"):
        await create(client, user, title=title)
    titles = [t["title"] for t in (await list_page(client, user, sort="title", order="asc"))["items"]]
    assert titles == ["apple", "Banana", "cherry"]
    titles = [t["title"] for t in (await list_page(client, user, sort="title", order="desc"))["items"]]
    assert titles == ["cherry", "Banana", "apple"]


@pytest.mark.parametrize("order", ORDERS)
async def test_tasks_without_due_date_come_last(client: httpx.AsyncClient, user: User, order: str) -> None:
    undated = await create(client, user, title="none")
    early = await create(client, user, due_date="2026-01-01")
    late = await create(client, user, due_date="2026-12-31")
    ids = await list_ids(client, user, sort="due_date", order=order)
    dated = [early["id"], late["id"]] if order == "asc" else [late["id"], early["id"]]
    assert ids == [*dated, undated["id"]]


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
@pytest.mark.parametrize("status", ["all", "pending", "completed"])
async def test_pages_walk_every_task_exactly_once(
    client: httpx.AsyncClient, user: User, status: str, limit: int
) -> None:
    await seeded(client, user)
    for sort in SORTS:
        for order in ORDERS:
            full = await list_ids(client, user, sort=sort, order=order, status=status)
            paged = await walk(client, user, limit, sort=sort, order=order, status=status)
            assert paged == full, (sort, order)


async def test_default_limit_is_100_and_max_is_500(client: httpx.AsyncClient, user: User) -> None:
    for i in range(101):
        await create(client, user, title=f"t{i}")
    first = await list_page(client, user)
    assert len(first["items"]) == 100 and first["next_cursor"] is not None
    rest = await list_page(client, user, cursor=first["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert len((await list_page(client, user, limit=500))["items"]) == 101


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "0"),
        ("limit", "501"),
        ("limit", "-1"),
        ("limit", "abc"),
        ("limit", "1.5"),
        ("limit", ""),
        ("status", "done"),
        ("sort", "priority"),
        ("order", "up"),
        ("sort", "TITLE"),
    ],
)
async def test_invalid_query_parameters_are_422(
    client: httpx.AsyncClient, user: User, name: str, value: str
) -> None:
    response = await client.get("/api/tasks", params={name: value}, headers=user.headers)
    assert name in error_fields(assert_problem(response, 422))


def forged(sort: str, order: str, key: object, seq: object = 1) -> dict[str, str]:
    """Query parameters whose cursor is well-formed for the query except for its contents."""
    raw = json.dumps([sort, order, "all", key, seq]).encode()
    return {"sort": sort, "order": order, "cursor": base64.urlsafe_b64encode(raw).decode().rstrip("=")}


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage"},
        {"cursor": "!!!!"},
        {"cursor": "x" * 5000},
        {"cursor": base64.urlsafe_b64encode(b'{"not": "a list"}').decode()},
        {"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()},
        forged("created", "desc", None, "1"),
        forged("created", "desc", None, True),
        forged("created", "desc", None, 2**64),
        forged("created", "desc", "a key", 1),
        forged("title", "asc", None, 1),
        forged("title", "asc", 42, 1),
        # A title key no task can have: PostgreSQL text cannot hold NUL, UTF-8 no surrogate.
        forged("title", "asc", "a\u0000b", 1),
        forged("title", "desc", "\ud800", 1),
        forged("due_date", "asc", "2026-13-45", 1),
        forged("due_date", "asc", 20261201, 1),
        forged("due_date", "desc", "\ud800", 1),
    ],
)
async def test_garbage_cursor_is_422(client: httpx.AsyncClient, user: User, params: dict[str, str]) -> None:
    await create(client, user)
    response = await client.get("/api/tasks", params=params, headers=user.headers)
    assert "cursor" in error_fields(assert_problem(response, 422))


async def test_cursor_of_another_query_is_422(client: httpx.AsyncClient, user: User) -> None:
    for title in ("a", "b", "c"):
        await create(client, user, title=title)
    cursor = (await list_page(client, user, sort="title", limit=1))["next_cursor"]
    assert cursor is not None
    for other in ({"sort": "created"}, {"sort": "due_date"}, {"order": "asc"}, {"status": "pending"}):
        params = {"sort": "title", "limit": 1, "cursor": cursor, **other}
        response = await client.get("/api/tasks", params=params, headers=user.headers)
        assert "cursor" in error_fields(assert_problem(response, 422)), other


async def test_seq_counts_the_users_changes(client: httpx.AsyncClient, user: User, other_user: User) -> None:
    assert (await list_page(client, user))["seq"] == 0
    first = await create(client, user)
    second = await create(client, user)
    await client.patch(f"/api/tasks/{first['id']}", json={"title": "x"}, headers=user.headers)
    await client.patch(f"/api/tasks/{first['id']}/complete", headers=user.headers)
    await client.delete(f"/api/tasks/{second['id']}", headers=user.headers)
    await create(client, other_user)
    page = await list_page(client, user)
    assert page["seq"] == 5
    assert [task["id"] for task in page["items"]] == [first["id"]]
    assert (await list_page(client, other_user))["seq"] == 1


async def test_pages_are_bounded_in_bytes_and_continue_by_cursor(app_factory: AppFactory, user: User) -> None:
    client = await app_factory(max_page_bytes=16 * 1024)
    # Each task holds 4,000 bytes of description (2,000 two-byte characters).
    created = [
        (await create(client, user, title=f"t{i:02}", description="é" * 2000))["id"] for i in range(12)
    ]
    first = await list_page(client, user, limit=500, sort="title", order="asc")
    assert 1 <= len(first["items"]) < 12 and first["next_cursor"] is not None
    titles = [t["title"] for t in first["items"]]
    cursor = first["next_cursor"]
    while cursor is not None:
        page = await list_page(client, user, limit=500, sort="title", order="asc", cursor=cursor)
        titles += [t["title"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert titles == [f"t{i:02}" for i in range(12)]

    response = await client.get("/api/changes", params={"since": 0, "limit": 1000}, headers=user.headers)
    page = response.json()
    assert 1 <= len(page["events"]) < 12 and page["resync"] is False
    assert len(response.content) < 2 * 16 * 1024
    seen = [e["task"]["id"] for e in page["events"]]
    while len(seen) < 12:
        since = page["events"][-1]["seq"]
        page = (await client.get("/api/changes", params={"since": since}, headers=user.headers)).json()
        assert page["events"], "the feed stopped before the head"
        seen += [e["task"]["id"] for e in page["events"]]
    assert seen == created


async def test_one_task_larger_than_the_bound_still_comes(app_factory: AppFactory, user: User) -> None:
    client = await app_factory(max_page_bytes=16 * 1024)
    big = await create(client, user, title="big", description="😀" * 10_000)  # 40,000 bytes
    page = await list_page(client, user)
    assert [t["id"] for t in page["items"]] == [big["id"]]
    events = (await client.get("/api/changes", params={"since": 0}, headers=user.headers)).json()["events"]
    assert [e["task"]["id"] for e in events] == [big["id"]]


async def test_a_page_carries_every_description_as_written(client: httpx.AsyncClient, user: User) -> None:
    """A page's descriptions come as the JSON strings stored with them: quotes,
    backslashes, control characters, non-ASCII and astral text read back exactly, and
    as the task's own answer has them."""
    written = [
        'say "hi" \\ back',
        "tab\there, line\nbreak, return\r, bell\x07, escape\x1b, del\x7f",
        "émoji 😀 and ✓ and 中文",
        "</script><script>alert(1)</script>",
        "",
    ]
    for text in written:
        await create(client, user, description=text)
    page = await list_page(client, user)
    assert sorted(item["description"] for item in page["items"]) == sorted(written)
    for item in page["items"]:
        assert item == await fetch(client, user, item["id"])


async def test_a_page_carries_each_description_as_last_written(client: httpx.AsyncClient, user: User) -> None:
    """Every kind of write changes what a page carries: a replacement, a merge, a JSON
    Patch, and a toggle that leaves the description as it was."""
    task = await create(client, user, description='first "one"')
    url, headers = f"/api/tasks/{task['id']}", user.headers
    steps = [
        ("PUT", {"title": "t", "description": "second\nline"}, {"Content-Type": "application/json"}),
        ("PATCH", {"description": "third \\ 😀"}, {"Content-Type": "application/json"}),
        (
            "PATCH",
            [{"op": "replace", "path": "/description", "value": "fourth\t✓"}],
            {"Content-Type": "application/json-patch+json"},
        ),
    ]
    for method, body, extra in steps:
        answer = await client.request(method, url, content=json.dumps(body), headers={**headers, **extra})
        assert answer.status_code == 200, answer.text
        (item,) = (await list_page(client, user))["items"]
        assert item["description"] == answer.json()["description"]
    assert (await client.patch(f"{url}/complete", headers=headers)).status_code == 200
    (item,) = (await list_page(client, user))["items"]
    assert (item["description"], item["completed"]) == ("fourth\t✓", True)
