"""Response hardening for browsers on every route, and `/metrics` behind a token when
one is configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.api import asyncapi
from server.app import create_app
from tests.conftest import AppFactory, make_settings
from tests.support import User

HARDENED = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


@pytest.mark.parametrize("path", ["/api/tasks", "/openapi.json", "/docs", "/healthz", "/nope", "/metrics"])
async def test_every_response_is_hardened(client: httpx.AsyncClient, user: User, path: str) -> None:
    response = await client.get(path, headers=user.headers)
    assert {name: response.headers.get(name) for name in HARDENED} == HARDENED


async def test_an_error_response_is_hardened_too(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/tasks", content=b"{", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_metrics_behind_a_token(app_factory: AppFactory) -> None:
    client = await app_factory(metrics_token="scrape-me-" + "s" * 20)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-me-" + "s" * 20}):
        refused = await client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and "tasksync_" not in refused.text
    allowed = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-" + "s" * 20})
    assert allowed.status_code == 200 and "tasksync_open_sockets" in allowed.text


async def test_metrics_open_without_a_token(client: httpx.AsyncClient) -> None:
    assert "tasksync_open_sockets" in (await client.get("/metrics")).text


@pytest.mark.parametrize("path", ["/", "/client/demo/index.html", "/client/tasksync.js"])
async def test_pages_may_open_sockets_to_this_host_only(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"Host": "tasks.example:8443"})
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "connect-src 'self' ws://tasks.example:8443 wss://tasks.example:8443;" in policy
    assert "ws: " not in policy and "script-src 'self';" in policy


async def test_an_odd_host_gets_no_socket_source(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"Host": "evil.example; script-src *"})
    policy = response.headers["content-security-policy"]
    assert "connect-src 'self';" in policy and "evil" not in policy


@pytest.mark.parametrize("origin", [None, "https://app.example", "https://elsewhere.example"])
async def test_every_response_varies_on_origin_once(app_factory: AppFactory, origin: str | None) -> None:
    # Requests without an Origin skip the CORS middleware (server.api.cors); a cache
    # must still learn that the answer depends on it, and never see it twice.
    client = await app_factory(cors_origins=["https://app.example"])
    headers = User().headers | ({"Origin": origin} if origin else {})
    response = await client.get("/api/tasks", headers=headers)
    assert response.status_code == 200
    assert response.headers.get_list("vary") == ["Origin"]
    allowed = response.headers.get("access-control-allow-origin")
    assert allowed == ("https://app.example" if origin == "https://app.example" else None)


async def test_a_new_host_costs_no_document_build(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Host header is the caller's to choose: the document's schemas, channels and
    # messages (milliseconds of CPU) are built once, whatever hosts it is asked for.
    hosts = [f"h{i}.example:8000" for i in range(40)]
    expected = [asyncapi.build_document(host) for host in hosts]
    builds = 0
    build = asyncapi._document_without_servers

    def counted() -> dict[str, Any]:
        nonlocal builds
        builds += 1
        return build()

    monkeypatch.setattr(asyncapi, "_document_without_servers", counted)
    for host, document in zip(hosts, expected, strict=True):
        response = await client.get("/asyncapi.json", headers={"Host": host})
        assert response.status_code == 200 and response.json() == document
    assert builds <= 1


async def test_sqlite_acknowledges_only_what_survives_a_power_cut(tmp_path: Path) -> None:
    # In WAL mode `synchronous=NORMAL` may lose the last commits to an OS crash: every
    # connection of the embedded default must run FULL, so a 201 is on disk.
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/tasks.db")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        db = app.state.services.db
        for _ in range(3):  # several pooled connections, each configured on connect
            async with db.read() as conn:
                assert await conn.fetchval(sa.text("PRAGMA synchronous")) == 2  # FULL
