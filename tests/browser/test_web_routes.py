"""The routes behind the demo, in-process: the page and its Content-Security-Policy, the
static client, and the development token endpoint that exists only in development mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from server.app import create_app
from server.auth.tokens import TokenVerifier
from tests.conftest import make_settings


@asynccontextmanager
async def in_process_app(folder: Path, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(f"sqlite+aiosqlite:///{folder}/tasksync.db", **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        # A loopback Host, as a browser on this machine sends: development tokens are
        # minted for nothing else (tests/test_dev_mode.py).
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
            yield client


def development(folder: Path) -> dict[str, object]:
    return {
        "tasksync_env": "development",
        "better_auth_secret": "",
        "dev_secret_file": str(folder / "secret"),
    }


async def test_the_demo_and_its_client_are_served_with_a_self_only_policy(tmp_path: Path) -> None:
    async with in_process_app(tmp_path) as client:
        page = await client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert '<meta name="tasksync-dev-mode" content="false">' in page.text
        for path in ("/client/tasksync.js", "/client/live.js", "/client/demo/demo.js"):
            module = await client.get(path)
            assert module.status_code == 200
            assert module.headers["content-type"].startswith("text/javascript")
        assert (await client.get("/client/demo/demo.css")).headers["content-type"].startswith("text/css")


async def test_outside_development_mode_the_token_endpoint_is_not_there(tmp_path: Path) -> None:
    async with in_process_app(tmp_path) as client:
        unknown = await client.post("/api/no-such-route")
        for method in ("POST", "GET", "PUT", "DELETE"):
            response = await client.request(method, "/api/dev/token", json={"user": "alice"})
            assert response.status_code == 404
            assert response.json() == unknown.json()


async def test_in_development_mode_the_endpoint_mints_a_token_for_a_name(tmp_path: Path) -> None:
    async with in_process_app(tmp_path, **development(tmp_path)) as client:
        assert '<meta name="tasksync-dev-mode" content="true">' in (await client.get("/")).text

        response = await client.post("/api/dev/token", json={"user": "alice"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        token = response.json()["token"]
        settings = make_settings("sqlite://", **development(tmp_path))
        assert (await TokenVerifier(settings).verify(token)).user_id == "alice"
        tasks = await client.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
        assert tasks.status_code == 200

        for body in ({"user": ""}, {"user": "  "}, {"user": 5}, {"user": "x" * 256}, {}):
            refused = await client.post("/api/dev/token", json=body)
            assert refused.status_code == 422
            assert refused.json()["errors"][0]["field"] == "user"
        assert (await client.post("/api/dev/token", content="user=alice")).status_code == 415
        wrong_method = await client.get("/api/dev/token")
        assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
