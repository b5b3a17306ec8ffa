"""The app behaves alike under `python -m server serve` and under `uvicorn server.app:app`
(what a process manager or a platform runs): the lifespan sets up what the figures and
the operators depend on, such as the JSON request log lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, User, running, wait_until

# The deployment guide's command (docs/deployment.md) for running the app under plain uvicorn.
UVICORN_FLAGS = [
    "--ws",
    "server.limits.ws_guard:GuardedWebSocketsProtocol",
    "--ws-per-message-deflate",
    "false",
    "--proxy-headers",
    "--http",
    "server.limits.http_guard:GuardedHttpToolsProtocol",
]


class UvicornProcess(ServerProcess):
    def command(self) -> list[str]:
        host_port = ["--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"]
        return [sys.executable, "-m", "uvicorn", "server.app:app", *host_port, *UVICORN_FLAGS]


@pytest.mark.parametrize("launcher", [ServerProcess, UvicornProcess], ids=["serve", "uvicorn"])
async def test_each_launcher_writes_the_json_request_log(
    launcher: type[ServerProcess], tmp_path: Path, artifacts_dir: Path
) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tasks.db'}", "LOG_LEVEL": "info"}
    user = User()
    async with running(launcher(env, artifacts_dir, "launcher")) as (server,):
        async with httpx.AsyncClient(base_url=server.url, headers=user.headers) as client:
            assert (await client.post("/api/tasks", json={"title": "logged"})).status_code == 201

        def logged() -> dict[str, object] | None:
            for line in server.log_path.read_text().splitlines():
                entry = json.loads(line) if line.startswith("{") else {}
                if entry.get("logger") == "server.access" and entry.get("method") == "POST":
                    return entry
            return None

        entry = await wait_until(logged, message="no JSON request log line")
        assert (entry["status"], entry["route"], entry["user_id"]) == (201, "/api/tasks", user.id)
