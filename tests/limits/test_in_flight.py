"""One user's requests at work at once are bounded per process
(MAX_REQUESTS_IN_FLIGHT_PER_USER): past the bound its requests wait their turn while
every other user is served, so one user's burst never takes every database connection.
A real server; two requests whose bodies are still arriving hold the user's places."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.http_layer.wire import Wire, request
from tests.support import ServerProcess, User, running

JSON = ("Content-Type", "application/json")


async def test_past_its_bound_a_users_request_waits_and_others_are_served(
    pg_url: str, artifacts_dir: Path
) -> None:
    env = {"DATABASE_URL": pg_url, "MAX_REQUESTS_IN_FLIGHT_PER_USER": "2", "BODY_TIMEOUT_SECONDS": "30"}
    busy, other = User(), User()
    async with (
        running(ServerProcess(env, artifacts_dir, "in-flight")) as (server,),
        Wire(server.port) as first,
        Wire(server.port) as second,
        httpx.AsyncClient(base_url=server.url, timeout=20) as http,
    ):
        # Two creates whose bodies have not all arrived: both places of the busy user taken.
        for wire in (first, second):
            await wire.send(
                request("POST", "/api/tasks", user=busy, headers=[JSON], body=b'{"title":', content_length=15)
            )
        third = asyncio.create_task(http.get("/api/tasks", headers=busy.headers))
        # Another user is served meanwhile; the busy user's third request is still waiting.
        assert (await http.get("/api/tasks", headers=other.headers)).status_code == 200
        assert (await http.post("/api/tasks", json={"title": "t"}, headers=other.headers)).status_code == 201
        assert not third.done()
        # One body completes: its create answers, and the waiting read takes the freed place.
        await first.send(b' "a"}\n')
        assert (await first.response()).status == 201
        answered = await asyncio.wait_for(third, 10)
        assert answered.status_code == 200 and [t["title"] for t in answered.json()["items"]] == ["a"]
        await second.send(b' "b"}\n')
        assert (await second.response()).status == 201
