"""What a stalled reader can cost is bounded in bytes, not only in events: a socket whose
client stopped reading while big events pile up is read back from the log once its
buffer holds `STREAM_BUFFER_BYTES`, and closed as too slow (4408) if it stays behind;
the client then resumes with `since` and misses nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.netcut import Netcut
from tests.support import ServerProcess, User, running, wait_for_metric

# Near the contract's largest event: a 10,000-character description of 4-byte characters.
BIG = "\U0001f600" * 10_000
WRITES = 300  # ~12 MB: more than the kernel's socket buffers absorb, fewer than 1,000 events


@pytest.mark.slow
async def test_a_stalled_reader_of_big_events_is_bounded_in_bytes(pg_url: str, artifacts_dir: Path) -> None:
    user = User()
    env = {
        "DATABASE_URL": pg_url,
        "STREAM_BUFFER_BYTES": str(256 * 1024),
        "STREAM_QUEUE_SIZE": "1000",  # the count alone would never be reached here
        "STREAM_LAG_SECONDS": "1",
    }
    async with running(ServerProcess(env, artifacts_dir, "stall")) as (server,), Netcut(server.port) as cut:
        ws = await websockets.connect(cut.ws_url, additional_headers=user.headers, max_size=None)
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "hello"
        await cut.stall()
        async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=30) as client:
            for n in range(WRITES):
                response = await client.post("/api/tasks", json={"title": f"big {n}", "description": BIG})
                assert response.status_code == 201
            await wait_for_metric(
                server.url, "tasksync_slow_consumer_closes_total", lambda v: v == 1, timeout=30
            )
            await cut.restore()
            seen: list[int] = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    seen.append(json.loads(await asyncio.wait_for(ws.recv(), 30))["seq"])
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
            assert seen == list(range(1, len(seen) + 1)) and len(seen) < WRITES
            # Resuming where it stopped gives exactly the rest.
            resumed = await websockets.connect(
                f"{server.ws_url}?since={seen[-1] if seen else 0}",
                additional_headers=user.headers,
                max_size=None,
            )
            assert json.loads(await asyncio.wait_for(resumed.recv(), 10))["type"] == "hello"
            rest = [
                json.loads(await asyncio.wait_for(resumed.recv(), 30))["seq"]
                for _ in range(WRITES - len(seen))
            ]
            assert seen + rest == list(range(1, WRITES + 1))
            await resumed.close()
