"""nginx in front of the hosts, running tests/hosts/nginx.conf (the deployment guide's nginx
configuration): a REST write reaches a websocket and an SSE stream opened through it, and
a write carrying an Idempotency-Key that a host without its database answered 503 is
resent to another host."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.hosts.conftest import Topology
from tests.hosts.nginx import Nginx, installed, kill_leftovers
from tests.hosts.topology import HOST_PORT, wait_ready
from tests.support import User, skip_or_fail

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def nginx(built: Topology) -> AsyncIterator[Nginx]:
    if not installed():
        skip_or_fail("`nginx` is missing: apt-get install nginx-light (make pytest installs it as root)")
    kill_leftovers()
    front = Nginx(
        {host.name: f"{host.address}:{HOST_PORT}" for host in built.hosts},
        Path(tempfile.mkdtemp(prefix="nginx-", dir=built.lb.run_dir)),
    )
    front.check()
    await front.start()
    try:
        yield front
    finally:
        await front.stop()


async def first_task_event(lines: AsyncIterator[str]) -> dict[str, object]:
    kind = ""
    async for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind.startswith("task."):
            event: dict[str, object] = json.loads(line[6:])
            return event
    raise AssertionError("the SSE stream ended")


async def post_503s(url: str) -> float:
    """POSTs a host answered 503 so far, by its /metrics."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"{url}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("tasksync_http_request_duration_seconds_count{")
        and 'method="POST"' in line
        and 'status="503"' in line
    )


async def test_rest_websocket_and_sse_through_nginx(topology: Topology, nginx: Nginx) -> None:
    user = User()
    async with (
        websockets.connect(nginx.ws_url, additional_headers=user.headers, open_timeout=5) as ws,
        httpx.AsyncClient(
            base_url=nginx.url, headers=user.headers, timeout=httpx.Timeout(5, read=30)
        ) as http,
        http.stream("GET", "/api/events", headers={"Last-Event-ID": "0"}) as sse,
    ):
        assert sse.status_code == 200
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "hello"
        lines = sse.aiter_lines()
        created = await http.post(
            "/api/tasks", json={"title": "via nginx"}, headers={"Idempotency-Key": "n-1"}
        )
        assert created.status_code == 201, created.text
        seq = int(created.headers["tasksync-seq"])
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert (frame["type"], frame["seq"]) == ("task.created", seq), frame
        # Not buffered by nginx: the event arrives while the stream stays open.
        event = await asyncio.wait_for(first_task_event(lines), 5)
        assert event["seq"] == seq, event

    # Two hosts lose PostgreSQL: they answer 503 (nothing written) until nginx's passive
    # check sets them aside; a keyed write they answered goes on to the third host.
    cut = topology.hosts[:2]
    before = [await post_503s(host.process.url) for host in cut]
    try:
        for host in cut:
            await host.db.refuse()
        for host in cut:
            await wait_ready(host, ready=False, timeout=10)
        async with httpx.AsyncClient(base_url=nginx.url, headers=user.headers, timeout=10) as http:
            for n in range(6):
                answer = await http.post(
                    "/api/tasks",
                    json={"title": f"retried {n}"},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                assert answer.status_code == 201, answer.text
        after = [await post_503s(host.process.url) for host in cut]
        assert sum(after) > sum(before), "no write went to a host without its database first"
    finally:
        for host in cut:
            with contextlib.suppress(Exception):
                await host.db.restore()
