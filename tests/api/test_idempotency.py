"""`Idempotency-Key` on `POST /api/tasks`: retries replay, nothing is created twice.
(The other write kinds: test_write_replays.py.)"""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.api.helpers import assert_problem, error_fields, events, list_ids
from tests.support import User


def keyed(user: User, key: str, **extra: str) -> dict[str, str]:
    return {**user.headers, "Idempotency-Key": key, "Content-Type": "application/json", **extra}


async def test_a_retry_replays_the_first_response(client: httpx.AsyncClient, user: User) -> None:
    key = str(uuid.uuid4())
    first = await client.post(
        "/api/tasks", content=b'{"title": "once", "due_date": "2026-12-01"}', headers=keyed(user, key)
    )
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    # The same JSON value, formatted differently and with its members in another order.
    retry = await client.post(
        "/api/tasks",
        content=b'{\n  "due_date":"2026-12-01",\n\t"title" : "once"\n}',
        headers=keyed(user, key),
    )
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    assert retry.headers["etag"] == first.headers["etag"] == '"1"'
    assert await list_ids(client, user) == [first.json()["id"]]
    assert (await client.get("/api/tasks", headers=user.headers)).json()["seq"] == 1


async def test_replay_returns_the_first_response_even_after_later_edits(
    client: httpx.AsyncClient, user: User
) -> None:
    first = await client.post("/api/tasks", json={"title": "orig"}, headers=keyed(user, "k-edit"))
    edit = await client.patch(
        f"/api/tasks/{first.json()['id']}", json={"title": "edited"}, headers=user.headers
    )
    assert (edit.status_code, edit.json()["title"], edit.json()["version"]) == (200, "edited", 2)
    retry = await client.post("/api/tasks", json={"title": "orig"}, headers=keyed(user, "k-edit"))
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert retry.headers["tasksync-seq"] == first.headers["tasksync-seq"] == "1"
    assert len(await list_ids(client, user)) == 1
    # The replay changed nothing: the task keeps the edit.
    assert (await client.get(f"/api/tasks/{first.json()['id']}", headers=user.headers)).json()[
        "title"
    ] == "edited"


async def test_same_key_with_another_body_is_422(client: httpx.AsyncClient, user: User) -> None:
    first = await client.post("/api/tasks", json={"title": "a"}, headers=keyed(user, "k-body"))
    assert first.status_code == 201
    for other in ({"title": "b"}, {"title": "a", "completed": True}, {"title": "a", "extra": 1}):
        response = await client.post("/api/tasks", json=other, headers=keyed(user, "k-body"))
        assert "Idempotency-Key" in error_fields(assert_problem(response, 422))
    assert await list_ids(client, user) == [first.json()["id"]]


async def test_keys_are_scoped_to_the_user(client: httpx.AsyncClient, user: User, other_user: User) -> None:
    mine = await client.post("/api/tasks", json={"title": "shared"}, headers=keyed(user, "shared-key"))
    theirs = await client.post(
        "/api/tasks", json={"title": "shared"}, headers=keyed(other_user, "shared-key")
    )
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert await list_ids(client, user) == [mine.json()["id"]]
    assert await list_ids(client, other_user) == [theirs.json()["id"]]
    # And a different body under the same key is fine for the other user too.
    third = await client.post("/api/tasks", json={"title": "x"}, headers=keyed(User(), "shared-key"))
    assert third.status_code == 201


async def test_key_length_bounds(client: httpx.AsyncClient, user: User) -> None:
    longest = "k" * 255
    assert (
        await client.post("/api/tasks", json={"title": "t"}, headers=keyed(user, longest))
    ).status_code == 201
    response = await client.post("/api/tasks", json={"title": "t"}, headers=keyed(user, "k" * 256))
    assert "Idempotency-Key" in error_fields(assert_problem(response, 422))
    assert len(await list_ids(client, user)) == 1


async def test_any_printable_string_is_a_key(client: httpx.AsyncClient, user: User) -> None:
    key = 'order #42 / ünïcödé? ;,= "quoted"'
    headers = {**user.headers, "Content-Type": "application/json"}
    encoded = [(k.encode(), v.encode()) for k, v in headers.items()] + [
        (b"Idempotency-Key", key.encode("utf-8"))
    ]
    first = await client.post("/api/tasks", content=b'{"title":"k"}', headers=encoded)
    retry = await client.post("/api/tasks", content=b'{"title":"k"}', headers=encoded)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert len(await list_ids(client, user)) == 1


async def test_keys_are_measured_in_characters_and_kept_as_sent(
    client: httpx.AsyncClient, user: User
) -> None:
    def utf8_headers(key: str, origin: str) -> list[tuple[bytes, bytes]]:
        headers = {**user.headers, "Content-Type": "application/json"}
        return [(k.encode(), v.encode()) for k, v in headers.items()] + [
            (b"Idempotency-Key", key.encode("utf-8")),
            (b"X-Client-Id", origin.encode("utf-8")),
        ]

    # 255 two-byte characters: within the contract's 255 characters (510 bytes).
    key = "é" * 255
    first = await client.post("/api/tasks", content=b'{"title":"k"}', headers=utf8_headers(key, "tab-ü"))
    assert first.status_code == 201, first.text
    retry = await client.post("/api/tasks", content=b'{"title":"k"}', headers=utf8_headers(key, "tab-ü"))
    assert retry.headers["idempotent-replayed"] == "true" and retry.json() == first.json()
    too_long = await client.post(
        "/api/tasks", content=b'{"title":"k"}', headers=utf8_headers("é" * 256, "tab-ü")
    )
    assert "Idempotency-Key" in error_fields(assert_problem(too_long, 422))
    # The client id comes back on the event as the client wrote it, not as Latin-1 mojibake.
    (event,) = [e for e in await events(client, user) if e["task"]["id"] == first.json()["id"]]
    assert event["origin"] == "tab-ü"


async def test_a_failed_create_does_not_burn_the_key(client: httpx.AsyncClient, user: User) -> None:
    bad = await client.post("/api/tasks", json={"title": ""}, headers=keyed(user, "k-fail"))
    assert_problem(bad, 422)
    good = await client.post("/api/tasks", json={"title": "fixed"}, headers=keyed(user, "k-fail"))
    assert good.status_code == 201 and "idempotent-replayed" not in good.headers


async def test_concurrent_retries_create_one_task(client: httpx.AsyncClient, user: User) -> None:
    headers = keyed(user, "k-race")
    responses = await asyncio.gather(
        *(client.post("/api/tasks", json={"title": "race"}, headers=headers) for _ in range(5))
    )
    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 4
    assert len(await list_ids(client, user)) == 1
    assert (await client.get("/api/tasks", headers=user.headers)).json()["seq"] == 1


async def test_without_a_key_every_post_creates(client: httpx.AsyncClient, user: User) -> None:
    for _ in range(2):
        assert (
            await client.post("/api/tasks", json={"title": "dup"}, headers=user.headers)
        ).status_code == 201
    assert len(await list_ids(client, user)) == 2
