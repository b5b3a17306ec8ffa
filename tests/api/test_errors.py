"""Hostile and buggy request bodies: each gets the contract's 4xx problem, never a 5xx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, create, error_fields, fetch, list_ids
from tests.conftest import AppFactory
from tests.support import User

SMALL_LIMIT = 2048


@pytest.fixture(scope="module")
async def small_client(app_factory: AppFactory) -> httpx.AsyncClient:
    """An app whose request bodies may be at most 2 KiB."""
    return await app_factory(max_body_bytes=SMALL_LIMIT)


def raw(user: User, content_type: str | None = "application/json") -> dict[str, str]:
    return {**user.headers, **({"Content-Type": content_type} if content_type else {})}


async def post_raw(client: httpx.AsyncClient, user: User, body: bytes | str) -> httpx.Response:
    content = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return await client.post("/api/tasks", content=content, headers=raw(user))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"{'title': 'x'}",
        b'{"title": "x",}',
        b'{"title": "\xff\xfe"}',
        b"\xef\xbb\xbf{}x",
        b"nul\x00",
    ],
)
async def test_malformed_json_is_400(client: httpx.AsyncClient, user: User, body: bytes) -> None:
    assert_problem(await post_raw(client, user, body), 400)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_non_standard_number_literals_are_400(
    client: httpx.AsyncClient, user: User, literal: str
) -> None:
    assert_problem(await post_raw(client, user, f'{{"title": "x", "completed": {literal}}}'), 400)


@pytest.mark.parametrize("body", [b"[]", b'[{"title": "x"}]', b'"title"', b"42", b"null", b"true"])
async def test_json_that_is_not_an_object_is_422(client: httpx.AsyncClient, user: User, body: bytes) -> None:
    problem = assert_problem(await post_raw(client, user, body), 422)
    assert problem["errors"]


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded", "json"])
async def test_a_body_not_json_by_content_type_is_415(
    client: httpx.AsyncClient, user: User, content_type: str | None
) -> None:
    task = await create(client, user)
    url = f"/api/tasks/{task['id']}"
    body = b'{"title": "x"}'
    for method, path in (("POST", "/api/tasks"), ("PUT", url), ("PATCH", url)):
        response = await client.request(method, path, content=body, headers=raw(user, content_type))
        assert_problem(response, 415)
    assert await list_ids(client, user) == [task["id"]]


async def test_json_content_type_parameters_are_accepted(client: httpx.AsyncClient, user: User) -> None:
    response = await client.post(
        "/api/tasks", content=b'{"title": "x"}', headers=raw(user, "Application/JSON; charset=utf-8")
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("fields", "invalid"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": " \t\n "}, "title"),
        ({"title": 42}, "title"),
        ({"title": ["x"]}, "title"),
        ({"title": None}, "title"),
        ({"title": "nul\x00byte"}, "title"),
        ({"description": "d" * 10_001}, "description"),
        ({"description": 5}, "description"),
        ({"description": "nul\x00"}, "description"),
        ({"completed": "yes"}, "completed"),
        ({"completed": 1}, "completed"),
        ({"due_date": "2026-13-45"}, "due_date"),
        ({"due_date": 20261201}, "due_date"),
        ({"due_date": "tomorrow"}, "due_date"),
        ({"due_date": {"y": 2026}}, "due_date"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(
    client: httpx.AsyncClient, user: User, fields: dict[str, Any], invalid: str
) -> None:
    body = {"title": "ok", **fields}
    assert error_fields(
        assert_problem(await client.post("/api/tasks", json=body, headers=user.headers), 422)
    ) == {invalid}
    task = await create(client, user, title="target")
    url = f"/api/tasks/{task['id']}"
    assert_problem(await client.put(url, json=body, headers=user.headers), 422)
    assert_problem(await client.patch(url, json=fields, headers=user.headers), 422)
    assert await fetch(client, user, task["id"]) == task
    assert await list_ids(client, user) == [task["id"]]


async def test_every_invalid_field_is_named(client: httpx.AsyncClient, user: User) -> None:
    body = {"title": "", "description": 1, "completed": "no", "due_date": "2026-02-30"}
    response = await client.post("/api/tasks", json=body, headers=user.headers)
    assert error_fields(assert_problem(response, 422)) == {"title", "description", "completed", "due_date"}


@pytest.mark.parametrize("field", ["title", "description"])
async def test_lone_surrogate_is_422(client: httpx.AsyncClient, user: User, field: str) -> None:
    # The escape is JSON text; decoded it is a code point that UTF-8 cannot hold.
    body = '{"title": "ok", "%s": "a\\ud800b"}' % field  # noqa: UP031 - literal JSON text
    assert error_fields(assert_problem(await post_raw(client, user, body), 422)) == {field}
    assert await list_ids(client, user) == []


async def test_surrogate_pairs_are_one_character(client: httpx.AsyncClient, user: User) -> None:
    response = await post_raw(client, user, '{"title": "\\ud83d\\ude00"}')
    assert response.status_code == 201 and response.json()["title"] == "\U0001f600"


async def test_boundary_lengths_are_accepted(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user, title="  " + "t" * 200 + "  ", description="d" * 10_000)
    assert (len(task["title"]), len(task["description"])) == (200, 10_000)


async def test_unicode_round_trips_exactly_in_code_points(client: httpx.AsyncClient, user: User) -> None:
    pattern = "e\u0301 👍🏽 👨‍👩‍👧 ñ 中文 \U0001f9d1\u200d\U0001f680 Z\u0351\u0352 "
    description = (pattern * 10_000)[:10_000]
    title = "\U0001f600" * 200  # 200 code points, 800 UTF-8 bytes
    task = await create(client, user, title=title, description=description)
    for seen in (task, await fetch(client, user, task["id"])):
        assert seen["description"] == description and len(seen["description"]) == 10_000
        assert seen["title"] == title
    too_long = await client.post(
        "/api/tasks", json={"title": "x", "description": description + "👍"}, headers=user.headers
    )
    assert "description" in error_fields(assert_problem(too_long, 422))


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ],
    ids=["arrays", "arrays-in-title", "objects"],
)
async def test_deep_nesting_is_a_client_error(client: httpx.AsyncClient, user: User, body: bytes) -> None:
    response = await post_raw(client, user, body)
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)


@pytest.mark.parametrize("field", ["title", "description", "completed", "due_date"])
async def test_overflowing_float_is_a_client_error(client: httpx.AsyncClient, user: User, field: str) -> None:
    # Python's parser reads 1e400 as infinity; it must not slip through as a value.
    body = '{"title": "x", "%s": 1e400}' % field  # noqa: UP031 - literal JSON text
    response = await post_raw(client, user, body)
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)
    assert await list_ids(client, user) == []


@pytest.mark.parametrize("digits", [1_000, 5_000, 100_000])
async def test_huge_integers_are_a_client_error(client: httpx.AsyncClient, user: User, digits: int) -> None:
    response = await post_raw(client, user, '{"title": "x", "due_date": 1' + "0" * digits + "}")
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code)
    assert await list_ids(client, user) == []


async def test_body_over_the_limit_is_413(small_client: httpx.AsyncClient, user: User) -> None:
    padded = b'{"title": "x", "description": "' + b"d" * SMALL_LIMIT + b'"}'
    assert_problem(await post_raw(small_client, user, padded), 413)
    head = b'{"title": "x", "pad": "'
    at_limit = head + b"p" * (SMALL_LIMIT - len(head) - 2) + b'"}'
    assert len(at_limit) == SMALL_LIMIT
    assert_problem(await post_raw(small_client, user, at_limit.replace(b"pp", b"ppp", 1)), 413)
    assert (await post_raw(small_client, user, at_limit)).status_code == 201
    task = (await small_client.get("/api/tasks", headers=user.headers)).json()["items"][0]
    url = f"/api/tasks/{task['id']}"
    assert_problem(await small_client.put(url, content=padded, headers=raw(user)), 413)
    assert_problem(await small_client.patch(url, content=padded, headers=raw(user)), 413)


async def chunks(total: int, size: int = 512) -> AsyncIterator[bytes]:
    yield b'{"title": "x", "description": "'
    for _ in range(total // size):
        yield b"d" * size
    yield b'"}'


@pytest.mark.parametrize("declared", [None, "10", "-1", "abc"], ids=["chunked", "lying", "negative", "junk"])
async def test_streamed_body_over_the_limit_is_413(
    small_client: httpx.AsyncClient, user: User, declared: str | None
) -> None:
    headers = raw(user) | ({"Content-Length": declared} if declared else {})
    response = await small_client.post("/api/tasks", content=chunks(100 * SMALL_LIMIT), headers=headers)
    assert_problem(response, 413)
    assert await list_ids(small_client, user) == []


async def test_small_chunked_body_is_accepted(small_client: httpx.AsyncClient, user: User) -> None:
    response = await small_client.post("/api/tasks", content=chunks(1024), headers=raw(user))
    assert response.status_code == 201
    assert len(response.json()["description"]) == 1024
