"""`/metrics` series move with traffic; logs are JSON lines with request ids and close codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.realtime.conftest import SERVER_ENV
from tests.realtime.live import LiveSocket
from tests.realtime.test_sync_guarantees import write
from tests.support import ServerProcess, User, kill_listeners, metric_sample, running, wait_for_metric


async def test_metrics_move_with_traffic(pg_url: str, pg_admin_url: str, artifacts_dir: Path) -> None:
    server = ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV}, artifacts_dir, "metrics")
    async with running(server):
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
            await wait_for_metric(server.url, "tasksync_open_sockets", lambda n: n == 0)
            after = (await client.get("/metrics")).text
    assert metric_sample(during, "tasksync_open_sockets") == 2
    assert metric_sample(during, "tasksync_open_streams", transport="ws") == 2
    assert metric_sample(after, "tasksync_open_sockets") == 0
    created = {"route": "/api/tasks", "method": "POST", "status": "201"}
    assert metric_sample(after, "tasksync_http_request_duration_seconds_count", **created) == 4
    assert metric_sample(after, "tasksync_events_recorded_total") == 4
    # A wake-up carries a user's newest seq: writes whose wake-ups wait for the same
    # send go as one, so the four writes took between one and four wake-ups.
    notified = metric_sample(after, "tasksync_events_notified_total")
    assert 1 <= metric_sample(after, "tasksync_wakeup_batches_total") <= notified <= 4
    assert metric_sample(after, "tasksync_events_delivered_total", transport="ws") >= 4 + 1
    assert metric_sample(after, "tasksync_commit_to_delivery_seconds_count") >= 4
    assert metric_sample(after, "tasksync_resyncs_sent_total", transport="ws") == 1
    assert metric_sample(after, "tasksync_listener_reconnects_total") >= 1


async def test_json_logs_with_request_ids_and_close_codes(pg_url: str, artifacts_dir: Path) -> None:
    server = ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV, "LOG_LEVEL": "info"}, artifacts_dir, "logs")
    user = User()
    async with running(server):
        async with httpx.AsyncClient(base_url=server.url, headers=user.headers) as client:
            mine = await client.get("/api/tasks", headers={"X-Request-Id": "trace-123"})
            theirs = await client.get("/api/tasks", headers={"X-Request-Id": "bad id with spaces"})
        async with LiveSocket(server.ws_url, user) as sock:
            await sock.wait_for(lambda s: bool(s.frames))
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
