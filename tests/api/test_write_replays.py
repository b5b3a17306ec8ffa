"""`Idempotency-Key` on every write kind and `Tasksync-Seq` on every write response.

A client that lost a response retries with the same key: it must get the first answer
back (status, body, `ETag`, `Tasksync-Seq`) and nothing may apply twice — above all a
toggle, whose second application would undo the first.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, create, error_fields, events, fetch
from tests.support import User


def headers(user: User, key: str | None = None, **extra: str) -> dict[str, str]:
    out = {**user.headers, "Content-Type": "application/json", **extra}
    if key is not None:
        out["Idempotency-Key"] = key
    return out


async def head(client: httpx.AsyncClient, user: User) -> int:
    seq: int = (await client.get("/api/tasks", headers=user.headers)).json()["seq"]
    return seq


def same_response(first: httpx.Response, retry: httpx.Response) -> None:
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert retry.status_code == first.status_code
    assert retry.content == first.content
    assert retry.headers.get("etag") == first.headers.get("etag")
    assert retry.headers["tasksync-seq"] == first.headers["tasksync-seq"]


async def test_a_retried_toggle_toggles_once(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user)
    key = str(uuid.uuid4())
    first = await client.patch(f"/api/tasks/{task['id']}/complete", headers=headers(user, key))
    assert first.status_code == 200 and first.json()["completed"] is True
    for _ in range(2):
        same_response(
            first, await client.patch(f"/api/tasks/{task['id']}/complete", headers=headers(user, key))
        )
    now = await fetch(client, user, task["id"])
    assert (now["completed"], now["version"]) == (True, 2)
    assert [e["type"] for e in await events(client, user)] == ["task.created", "task.updated"]


async def test_concurrent_retried_toggles_toggle_once(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user)
    url = f"/api/tasks/{task['id']}/complete"
    responses = await asyncio.gather(*(client.patch(url, headers=headers(user, "race")) for _ in range(4)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" in r.headers for r in responses) == 3
    assert (await fetch(client, user, task["id"]))["completed"] is True
    assert await head(client, user) == 2


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PUT", "", {"title": "replaced", "completed": True}),
        ("PATCH", "", {"description": "patched"}),
        ("PATCH", "/complete", None),
        ("DELETE", "", None),
    ],
)
async def test_every_write_kind_replays_and_applies_once(
    client: httpx.AsyncClient, user: User, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    task = await create(client, user)
    url = f"/api/tasks/{task['id']}{suffix}"
    # Based on version 1: applied a second time, the If-Match would fail with a 412.
    sent = headers(user, f"k-{method}{suffix}", **{"If-Match": '"1"'})
    first = await client.request(method, url, json=body, headers=sent)
    assert first.status_code == (204 if method == "DELETE" else 200), first.text
    assert first.headers["tasksync-seq"] == "2"
    same_response(first, await client.request(method, url, json=body, headers=sent))
    assert await head(client, user) == 2
    assert len(await events(client, user)) == 2


async def test_a_replayed_delete_is_204_not_404(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user)
    first = await client.delete(f"/api/tasks/{task['id']}", headers=headers(user, "del"))
    retry = await client.delete(f"/api/tasks/{task['id']}", headers=headers(user, "del"))
    assert (first.status_code, retry.status_code) == (204, 204)
    assert retry.content == b"" and retry.headers["tasksync-seq"] == first.headers["tasksync-seq"] == "2"
    # Without the key, the task is simply gone.
    assert_problem(await client.delete(f"/api/tasks/{task['id']}", headers=user.headers), 404)


async def test_a_lost_put_create_replays_201_not_412(client: httpx.AsyncClient, user: User) -> None:
    task_id = str(uuid.uuid4())
    sent = headers(user, "create-1", **{"If-None-Match": "*"})
    first = await client.put(f"/api/tasks/{task_id}", json={"title": "offline"}, headers=sent)
    assert first.status_code == 201
    same_response(first, await client.put(f"/api/tasks/{task_id}", json={"title": "offline"}, headers=sent))
    # A fresh key for the same create is a real second attempt: the id is taken.
    other = {**sent, "Idempotency-Key": "create-2"}
    taken = assert_problem(
        await client.put(f"/api/tasks/{task_id}", json={"title": "offline"}, headers=other), 412
    )
    assert taken["current"] == first.json()
    assert await head(client, user) == 1


@pytest.mark.parametrize(
    ("method", "path_suffix", "body"),
    [
        ("PATCH", "", {"title": "other body"}),  # another body
        ("PUT", "", {"title": "same"}),  # another method
        ("PATCH", "/complete", None),  # another path
    ],
)
async def test_a_key_reused_for_another_request_is_422(
    client: httpx.AsyncClient, user: User, method: str, path_suffix: str, body: dict[str, Any] | None
) -> None:
    task = await create(client, user)
    first = await client.patch(f"/api/tasks/{task['id']}", json={"title": "same"}, headers=headers(user, "k"))
    assert first.status_code == 200
    response = await client.request(
        method, f"/api/tasks/{task['id']}{path_suffix}", json=body, headers=headers(user, "k")
    )
    assert "Idempotency-Key" in error_fields(assert_problem(response, 422))
    now = await fetch(client, user, task["id"])
    assert (now["title"], now["completed"], now["version"]) == ("same", False, 2)


async def test_the_same_key_on_two_tasks_is_another_request(client: httpx.AsyncClient, user: User) -> None:
    a, b = await create(client, user), await create(client, user)
    assert (
        await client.patch(f"/api/tasks/{a['id']}/complete", headers=headers(user, "t"))
    ).status_code == 200
    response = await client.patch(f"/api/tasks/{b['id']}/complete", headers=headers(user, "t"))
    assert_problem(response, 422)
    assert (await fetch(client, user, b["id"]))["completed"] is False


async def test_a_failed_write_is_not_remembered(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user)
    url = f"/api/tasks/{task['id']}"
    stale = await client.patch(
        url, json={"title": "x"}, headers=headers(user, "retry-me", **{"If-Match": '"9"'})
    )
    assert_problem(stale, 412)
    # The same request again is evaluated afresh (still stale), not replayed as a success.
    again = await client.patch(
        url, json={"title": "x"}, headers=headers(user, "retry-me", **{"If-Match": '"9"'})
    )
    assert_problem(again, 412)
    assert "idempotent-replayed" not in again.headers
    assert await head(client, user) == 1


async def test_every_write_response_carries_its_events_seq(client: httpx.AsyncClient, user: User) -> None:
    created = await client.post("/api/tasks", json={"title": "a"}, headers=headers(user))
    task_id = created.json()["id"]
    responses = [
        created,
        await client.put(f"/api/tasks/{task_id}", json={"title": "b"}, headers=headers(user)),
        await client.patch(f"/api/tasks/{task_id}", json={"title": "c"}, headers=headers(user)),
        await client.patch(f"/api/tasks/{task_id}/complete", headers=headers(user)),
        await client.put(
            f"/api/tasks/{uuid.uuid4()}", json={"title": "d"}, headers=headers(user, **{"If-None-Match": "*"})
        ),
        await client.delete(f"/api/tasks/{task_id}", headers=headers(user)),
    ]
    seqs = [int(r.headers["tasksync-seq"]) for r in responses]
    logged = await events(client, user)
    assert seqs == [e["seq"] for e in logged] == [1, 2, 3, 4, 5, 6]
    # Each header names the event that write caused.
    assert [e["task"]["id"] for e in logged] == [
        *([task_id] * 4),
        responses[4].json()["id"],
        task_id,
    ]
    # Reads and failed writes carry none.
    assert "tasksync-seq" not in (await client.get("/api/tasks", headers=user.headers)).headers
    missing = await client.patch(f"/api/tasks/{task_id}", json={"title": "x"}, headers=headers(user))
    assert missing.status_code == 404 and "tasksync-seq" not in missing.headers


async def test_browsers_can_read_tasksync_seq(client: httpx.AsyncClient, user: User) -> None:
    response = await client.post(
        "/api/tasks", json={"title": "cors"}, headers=headers(user, Origin="http://app.example")
    )
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"tasksync-seq", "etag", "idempotent-replayed"} <= exposed
    preflight = await client.options(
        f"/api/tasks/{uuid.uuid4()}",
        headers={
            "Origin": "http://app.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "if-none-match, idempotency-key, if-match",
        },
    )
    assert preflight.status_code == 200
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert all(name in allowed for name in ("if-none-match", "idempotency-key", "if-match"))


def test_the_openapi_document_describes_keys_seq_and_put_create() -> None:
    from server.api.openapi import build_document

    paths = build_document()["paths"]
    writes = [
        (paths["/api/tasks"], "post"),
        *((paths["/api/tasks/{task_id}"], method) for method in ("put", "patch", "delete")),
        (paths["/api/tasks/{task_id}/complete"], "patch"),
    ]
    for path, method in writes:
        operation = path[method]
        assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}, method
        success = [r for code, r in operation["responses"].items() if code.startswith("2")]
        assert success and all("Tasksync-Seq" in r["headers"] for r in success), method
    put = paths["/api/tasks/{task_id}"]["put"]
    assert {"200", "201", "412", "422"} <= put["responses"].keys()
    assert {"name": "If-None-Match", "schema": {"type": "string", "enum": ["*"]}}.items() <= next(
        p for p in put["parameters"] if p["name"] == "If-None-Match"
    ).items()
