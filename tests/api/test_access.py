"""Who may reach what: bearer auth, per-user isolation, odd ids and headers, routes, CORS."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, create, error_fields, events, fetch, list_page
from tests.support import User, mint

ALLOWED_ORIGIN = "http://app.example"  # the `cors_origins` of the test settings
NO_SUCH_ID = "6f1c2a9e-5b7d-4c3e-8a1f-0123456789ab"  # well-formed, never created
TASK_WRITES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("PUT", "", {"title": "stolen"}),
    ("PATCH", "", {"title": "stolen"}),
    ("PATCH", "/complete", None),
    ("DELETE", "", None),
]
TASK_WRITE_IDS = ["GET", "PUT", "PATCH", "complete", "DELETE"]


def bad_credentials() -> dict[str, dict[str, str]]:
    return {
        "missing": {},
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
        "empty-bearer": {"Authorization": "Bearer "},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "wrong-secret": {"Authorization": f"Bearer {mint('u', secret='another-secret-' + 'x' * 32)}"},
        "expired": {"Authorization": f"Bearer {mint('u', ttl=-3600)}"},
        "empty-sub": {"Authorization": f"Bearer {mint('')}"},
        "nul-sub": {"Authorization": f"Bearer {mint('a' + chr(0))}"},
        "surrogate-sub": {"Authorization": f"Bearer {mint(chr(0xD800))}"},
        "long-sub": {"Authorization": f"Bearer {mint('u' * 256)}"},
    }


@pytest.mark.parametrize("credentials", list(bad_credentials()))
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/tasks"),
        ("POST", "/api/tasks"),
        ("GET", f"/api/tasks/{NO_SUCH_ID}"),
        ("DELETE", f"/api/tasks/{NO_SUCH_ID}"),
        ("PATCH", f"/api/tasks/{NO_SUCH_ID}/complete"),
        ("GET", "/api/changes?since=0"),
    ],
)
async def test_unauthenticated_requests_are_401(
    client: httpx.AsyncClient, method: str, path: str, credentials: str
) -> None:
    headers = bad_credentials()[credentials]
    response = await client.request(method, path, json={"title": "x"}, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_odd_profile_claims_do_not_lock_the_user_out(client: httpx.AsyncClient) -> None:
    token = mint(f"odd-{uuid.uuid4()}", email=chr(0xD800), name="nul" + chr(0))
    response = await client.post(
        "/api/tasks", json={"title": "x"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201


async def test_health_needs_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200


@pytest.mark.parametrize(("method", "suffix", "body"), TASK_WRITES, ids=TASK_WRITE_IDS)
async def test_another_users_task_is_not_found_and_unchanged(
    client: httpx.AsyncClient,
    user: User,
    other_user: User,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    task = await create(client, user, title="private")
    url = f"/api/tasks/{task['id']}{suffix}"
    for if_match in (None, '"1"', '"99"', "*"):
        headers = other_user.headers | ({"If-Match": if_match} if if_match else {})
        response = await client.request(method, url, json=body, headers=headers)
        problem = assert_problem(response, 404)
        assert "current" not in problem  # a 412 would leak the task
    missing = await client.request(
        method, f"/api/tasks/{NO_SUCH_ID}{suffix}", json=body, headers=other_user.headers
    )
    assert assert_problem(missing, 404) == problem  # indistinguishable from a missing task
    assert await fetch(client, user, task["id"]) == task
    assert len(await events(client, user)) == 1
    assert (await list_page(client, other_user))["items"] == []


MALFORMED_IDS = {
    "word": "abc",
    "10k-chars": "x" * 10_000,
    "dot-dot": "../x",
    "encoded-slash": "..%2Fx",
    "encoded-dots": "%2E%2E",
    "nul": "%00",
    "accents": "ünïcödé",
    "emoji": "😀" * 9,
    "nil-uuid": "00000000-0000-0000-0000-000000000000",
    "sql": "' OR 1=1 --",
    "space": "%20",
    "uuid-hex": NO_SUCH_ID.replace("-", ""),
}


@pytest.mark.parametrize("task_id", list(MALFORMED_IDS.values()), ids=list(MALFORMED_IDS))
@pytest.mark.parametrize(("method", "suffix", "body"), TASK_WRITES, ids=TASK_WRITE_IDS)
async def test_malformed_ids_are_404(
    client: httpx.AsyncClient, user: User, task_id: str, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    response = await client.request(method, f"/api/tasks/{task_id}{suffix}", json=body, headers=user.headers)
    assert_problem(response, 404)


async def test_an_id_in_another_spelling_is_not_found(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user)
    for spelling in (task["id"].upper(), "{" + task["id"] + "}", task["id"] + " ", "urn:uuid:" + task["id"]):
        response = await client.get(f"/api/tasks/{spelling}", headers=user.headers)
        assert_problem(response, 404)


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/nope"), ("GET", "/nope"), ("POST", "/api/tasks/x/y")]
)
async def test_unknown_route_is_404_problem(
    client: httpx.AsyncClient, user: User, method: str, path: str
) -> None:
    assert_problem(await client.request(method, path, headers=user.headers), 404)


async def test_wrong_method_is_a_problem(client: httpx.AsyncClient, user: User) -> None:
    assert_problem(await client.delete("/api/tasks", headers=user.headers), 405)


async def test_client_id_up_to_64_chars(client: httpx.AsyncClient, user: User) -> None:
    ok = await client.post(
        "/api/tasks", json={"title": "x"}, headers=user.headers | {"X-Client-Id": "c" * 64}
    )
    assert ok.status_code == 201
    assert (await events(client, user))[-1]["origin"] == "c" * 64
    url = f"/api/tasks/{ok.json()['id']}"
    for method, path, body in (
        ("POST", "/api/tasks", {"title": "y"}),
        ("PATCH", url, {"title": "y"}),
        ("DELETE", url, None),
    ):
        long_id = user.headers | {"X-Client-Id": "c" * 65}
        response = await client.request(method, path, json=body, headers=long_id)
        assert "X-Client-Id" in error_fields(assert_problem(response, 422))
    assert len(await events(client, user)) == 1


@pytest.mark.parametrize("name", ["Idempotency-Key", "X-Client-Id", "If-Match"])
@pytest.mark.parametrize("value", [b"a\x00b", b"tab\x01", b"del\x7f"], ids=["nul", "ctl", "del"])
async def test_control_characters_in_write_headers_are_422(
    client: httpx.AsyncClient, user: User, name: str, value: bytes
) -> None:
    # HTTP servers in front usually refuse these already; behind a lenient one they must
    # still be a client error, not a database error.
    task = await create(client, user, title="before")
    headers = [(k.encode(), v.encode()) for k, v in user.headers.items()]
    headers += [(b"Content-Type", b"application/json"), (name.encode(), value)]
    urls = {"POST": "/api/tasks", "PATCH": f"/api/tasks/{task['id']}"}
    readers = {"Idempotency-Key": ["POST"], "X-Client-Id": ["POST", "PATCH"], "If-Match": ["PATCH"]}
    for method in readers[name]:
        response = await client.request(method, urls[method], content=b'{"title": "x"}', headers=headers)
        assert name in error_fields(assert_problem(response, 422))
    assert await fetch(client, user, task["id"]) == task
    assert len(await events(client, user)) == 1


async def test_non_ascii_header_bytes_are_taken_as_they_come(client: httpx.AsyncClient, user: User) -> None:
    headers = [(k.encode(), v.encode()) for k, v in user.headers.items()]
    headers += [(b"X-Client-Id", "tab-ü".encode()), (b"Idempotency-Key", b"\xff\xfe")]
    first = await client.post("/api/tasks", json={"title": "x"}, headers=headers)
    again = await client.post("/api/tasks", json={"title": "x"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    # UTF-8 is read as the text the client meant; bytes that are not UTF-8 keep their
    # Latin-1 reading, and still make one key.
    assert [e["origin"] for e in await events(client, user)] == ["tab-ü"]


async def test_over_long_if_match_is_422(client: httpx.AsyncClient, user: User) -> None:
    task = await create(client, user)
    headers = user.headers | {"If-Match": ", ".join(f'"{n}"' for n in range(1, 2000))}
    response = await client.patch(f"/api/tasks/{task['id']}", json={"title": "y"}, headers=headers)
    assert "If-Match" in error_fields(assert_problem(response, 422))


async def test_cors_preflight_and_exposed_etag_for_an_allowed_origin(
    client: httpx.AsyncClient, user: User
) -> None:
    preflight = await client.options(
        "/api/tasks/some-id",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match, x-client-id",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "if-match", "x-client-id"} <= set(
        allowed.replace(" ", "").split(",")
    )
    response = await client.post(
        "/api/tasks", json={"title": "x"}, headers=user.headers | {"Origin": ALLOWED_ORIGIN}
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "etag" in [name.strip() for name in exposed.split(",")]


async def test_cors_refuses_other_origins(client: httpx.AsyncClient, user: User) -> None:
    # Without Access-Control-Allow-Origin the browser refuses the response. (Starlette
    # still sends Expose-Headers and, on the refused preflight, Allow-Methods: harmless.)
    evil = "http://evil.example"
    preflight = await client.options(
        "/api/tasks", headers={"Origin": evil, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = await client.get("/api/tasks", headers=user.headers | {"Origin": evil})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers
