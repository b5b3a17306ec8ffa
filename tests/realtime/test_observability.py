"""`/metrics` series move with traffic; logs are JSON lines with request ids and close codes."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx

from tests.realtime.conftest import SERVER_ENV
from tests.realtime.live import LiveSocket
from tests.realtime.test_sync_guarantees import write
from tests.support import ServerProcess, User, kill_listeners


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text format (0 if absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match and match[1] == name:
            have = ",".join(sorted((match[2] or "").split(","))) if match[2] else ""
            if have == wanted:
                return float(match[3])
    return 0.0


async def test_metrics_move_with_traffic(pg_url: str, pg_admin_url: str, artifacts_dir: Path) -> None:
    server = ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV}, artifacts_dir, "metrics")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            before = (await client.get("/metrics")).text
            assert before.startswith("# HELP") and "tasksync_open_sockets 0.0" in before
            user = User()
            async with (
                LiveSocket(server.ws_url, user, since=0) as sock,
                LiveSocket(server.ws_url, user, since=99),
            ):
                await write(server.url, user, 3)
                await sock.wait_seq(3)
                during = (await client.get("/metrics")).text
                assert await kill_listeners(pg_admin_url, pg_url) == 1
                await write(server.url, user, 1)
                await sock.wait_seq(4, timeout=20)
            # The server sees the clients' close frames a moment later.
            for _ in range(100):
                after = (await client.get("/metrics")).text
                if sample(after, "tasksync_open_sockets") == 0:
                    break
                await asyncio.sleep(0.05)
    finally:
        await server.stop()
    assert sample(during, "tasksync_open_sockets") == 2
    assert sample(during, "tasksync_open_streams", transport="ws") == 2
    assert sample(after, "tasksync_open_sockets") == 0
    created = {"route": "/api/tasks", "method": "POST", "status": "201"}
    assert sample(after, "tasksync_http_request_duration_seconds_count", **created) == 4
    assert sample(after, "tasksync_events_recorded_total") == 4
    assert sample(after, "tasksync_events_notified_total") == 4
    assert sample(after, "tasksync_events_delivered_total", transport="ws") >= 4 + 1
    assert sample(after, "tasksync_commit_to_delivery_seconds_count") >= 4
    assert sample(after, "tasksync_resyncs_sent_total", transport="ws") == 1
    assert sample(after, "tasksync_listener_reconnects_total") >= 1


async def test_json_logs_with_request_ids_and_close_codes(pg_url: str, artifacts_dir: Path) -> None:
    server = ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV, "LOG_LEVEL": "info"}, artifacts_dir, "logs")
    await server.start()
    user = User()
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=user.headers) as client:
            mine = await client.get("/api/tasks", headers={"X-Request-Id": "trace-123"})
            theirs = await client.get("/api/tasks", headers={"X-Request-Id": "bad id with spaces"})
        async with LiveSocket(server.ws_url, user) as sock:
            await sock.wait_for(lambda s: bool(s.frames))
    finally:
        await server.stop()
    assert mine.headers["x-request-id"] == "trace-123"
    generated = theirs.headers["x-request-id"]
    assert generated != "bad id with spaces" and re.fullmatch(r"[0-9a-f]{32}", generated)
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    request = next(entry for entry in lines if entry.get("request_id") == "trace-123")
    assert (request["route"], request["status"], request["user_id"]) == ("/api/tasks", 200, user.id)
    assert request["level"] == "info" and request["duration_ms"] >= 0
    closed = next(entry for entry in lines if entry["message"] == "websocket closed")
    assert closed["user_id"] == user.id and closed["close_code"] == 1000
    assert any(entry["message"] == "websocket open" for entry in lines)
