"""The Sync section's guarantees, end to end through real servers and real sockets:
ordered, gap-free, duplicate-free, committed-only, per-user, resumable, across processes."""

from __future__ import annotations

import asyncio
import random

import httpx

from tests.realtime.conftest import Cluster
from tests.realtime.live import LiveSocket, apply, assert_contiguous, snapshot
from tests.support import User, wait_until


async def write(base_url: str, user: User, n: int, prefix: str = "t") -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, headers=user.headers) as client:
        ids = []
        for i in range(n):
            r = await client.post("/api/tasks", json={"title": f"{prefix}{i}"})
            assert r.status_code == 201
            ids.append(r.json()["id"])
        return ids


async def test_hello_then_replay_then_live_across_processes(cluster: Cluster, user: User) -> None:
    await write(cluster.a.url, user, 3)
    async with LiveSocket(cluster.b.ws_url, user, since=1) as sock:
        await sock.wait_seq(3)
        assert sock.hello == {"type": "hello", "seq": 3, "user_id": user.id}
        await write(cluster.a.url, user, 2)
        await sock.wait_seq(5)
    assert_contiguous(sock.events, after=1)
    assert sock.frames[0]["type"] == "hello"


async def test_without_since_only_live_events(cluster: Cluster, user: User) -> None:
    await write(cluster.a.url, user, 2)
    async with LiveSocket(cluster.b.ws_url, user) as sock:
        await sock.wait_for(lambda s: bool(s.frames))
        assert sock.hello["seq"] == 2
        await write(cluster.a.url, user, 1)
        await sock.wait_seq(3)
    assert [e["seq"] for e in sock.events] == [3]


async def test_no_gap_at_the_seam_while_writing(cluster: Cluster, user: User) -> None:
    """Sockets that connect (with since=0) while writes are going on see every event once."""
    sockets: list[LiveSocket] = []
    written = 0

    async def writer() -> None:
        # Writes go on until every socket has said hello, and a few more after: each
        # socket's replay-to-live seam falls inside the stream of writes.
        nonlocal written
        async with httpx.AsyncClient(base_url=cluster.a.url, headers=user.headers) as client:
            after_last_hello = 0
            while after_last_hello < 5:
                r = await client.post("/api/tasks", json={"title": f"t{written}"})
                assert r.status_code == 201
                written += 1
                if len(sockets) == 4 and all(s.frames for s in sockets):
                    after_last_hello += 1

    writing = asyncio.create_task(writer())
    try:
        for i in range(4):
            await wait_until(lambda i=i: written >= 5 * (i + 1) or writing.done())
            sock = LiveSocket(cluster.b.ws_url, user, since=0)
            sockets.append(await sock.__aenter__())
            await sock.wait_for(lambda s: bool(s.frames))
        await writing
        for sock in sockets:
            # The interleaving itself: each socket opened mid-stream.
            assert 0 < sock.hello["seq"] < written, (sock.hello, written)
            await sock.wait_seq(written)
            assert_contiguous(sock.events)
    finally:
        writing.cancel()
        for sock in sockets:
            await sock.__aexit__(None, None, None)


async def test_event_shapes_and_origin(cluster: Cluster, user: User) -> None:
    async with LiveSocket(cluster.b.ws_url, user, since=0) as sock:
        async with httpx.AsyncClient(base_url=cluster.a.url, headers=user.headers) as client:
            created = (
                await client.post("/api/tasks", json={"title": "a"}, headers={"X-Client-Id": "tab-7"})
            ).json()
            updated = (await client.patch(f"/api/tasks/{created['id']}", json={"completed": True})).json()
            assert (await client.delete(f"/api/tasks/{created['id']}")).status_code == 204
        await sock.wait_seq(3)
    c, u, d = sock.events
    assert (c["type"], c["task"], c["origin"]) == ("task.created", created, "tab-7")
    assert (u["type"], u["task"], u["origin"]) == ("task.updated", updated, None)
    assert d["type"] == "task.deleted" and d["task"] == {"id": created["id"], "version": 2}
    assert all(e["at"].endswith("Z") for e in sock.events)


async def test_rolled_back_writes_produce_no_event(cluster: Cluster, user: User) -> None:
    async with LiveSocket(cluster.b.ws_url, user, since=0) as sock:
        async with httpx.AsyncClient(base_url=cluster.a.url, headers=user.headers) as client:
            task = (await client.post("/api/tasks", json={"title": "a"})).json()
            stale = await client.put(
                f"/api/tasks/{task['id']}", json={"title": "b"}, headers={"If-Match": '"9"'}
            )
            assert stale.status_code == 412
            missing = await client.patch(
                "/api/tasks/00000000-0000-4000-8000-000000000000", json={"title": "x"}
            )
            assert missing.status_code == 404
            await client.patch(f"/api/tasks/{task['id']}", json={"title": "c"})
        await sock.wait_seq(2)
    assert [(e["seq"], e["type"]) for e in sock.events] == [(1, "task.created"), (2, "task.updated")]
    assert sock.events[1]["task"]["title"] == "c"


async def test_events_never_reach_another_user(cluster: Cluster) -> None:
    # Two ids of 80 characters sharing their first 70.
    stem = "u" * 70
    alice, bob = User(id=stem + "a" * 10), User(id=stem + "b" * 10)
    async with (
        LiveSocket(cluster.b.ws_url, alice, since=0) as a,
        LiveSocket(cluster.b.ws_url, bob, since=0) as b,
    ):
        await write(cluster.a.url, alice, 3, "alice")
        await write(cluster.a.url, bob, 2, "bob")
        await a.wait_seq(3)
        await b.wait_seq(2)
    assert all(e["task"]["title"].startswith("alice") for e in a.events)
    assert all(e["task"]["title"].startswith("bob") for e in b.events)
    assert (a.hello["user_id"], b.hello["user_id"]) == (alice.id, bob.id)


async def test_payloads_far_over_8000_bytes(cluster: Cluster, user: User) -> None:
    description = "é€😀" * 3333  # 9,999 code points, ~30 KB of UTF-8
    async with LiveSocket(cluster.b.ws_url, user, since=0) as sock:
        async with httpx.AsyncClient(base_url=cluster.a.url, headers=user.headers) as client:
            r = await client.post("/api/tasks", json={"title": "big", "description": description})
            assert r.status_code == 201
        await sock.wait_seq(1)
    assert sock.events[0]["task"]["description"] == description


async def test_ten_sockets_of_one_user_at_once(cluster: Cluster, user: User) -> None:
    sockets = [LiveSocket((cluster.a if i % 2 else cluster.b).ws_url, user, since=0) for i in range(10)]
    await asyncio.gather(*(s.__aenter__() for s in sockets))
    await write(cluster.a.url, user, 3)
    for sock in sockets:
        await sock.wait_seq(3)
        assert_contiguous(sock.events)
    await asyncio.gather(*(s.__aexit__(None, None, None) for s in sockets))


async def test_concurrent_writers_to_one_user(cluster: Cluster, user: User) -> None:
    async with LiveSocket(cluster.b.ws_url, user, since=0) as sock:
        await asyncio.gather(*(write(s.url, user, 15, f"w{i}-") for i, s in enumerate(cluster.servers * 2)))
        total = 15 * 2 * len(cluster.servers)
        await sock.wait_seq(total, timeout=30)
    assert_contiguous(sock.events)
    tasks, seq = await snapshot(cluster.a.url, user)
    assert seq == total and len(tasks) == total


async def test_mirrors_converge_under_random_concurrent_writes(cluster: Cluster) -> None:
    """3 users × 3 sockets over the processes, 4 concurrent writers, 150 random changes."""
    users = [User() for _ in range(3)]
    rng = random.Random(7)
    sockets = {
        u.id: [LiveSocket(cluster.servers[i % len(cluster.servers)].ws_url, u, since=0) for i in range(3)]
        for u in users
    }
    for group in sockets.values():
        for sock in group:
            await sock.__aenter__()

    async def writer(n: int) -> None:
        async with httpx.AsyncClient(base_url=cluster.servers[n % len(cluster.servers)].url) as client:
            for _ in range(150 // 4 + 1):
                user = rng.choice(users)
                listed = (await client.get("/api/tasks", headers=user.headers)).json()["items"]
                choice = rng.random()
                if not listed or choice < 0.4:
                    await client.post(
                        "/api/tasks", headers=user.headers, json={"title": f"{user.id}:{rng.random()}"}
                    )
                elif choice < 0.8:
                    task = rng.choice(listed)
                    await client.patch(
                        f"/api/tasks/{task['id']}",
                        headers=user.headers,
                        json={"title": f"{user.id}:{rng.random()}"},
                    )
                else:
                    task = rng.choice(listed)
                    await client.delete(f"/api/tasks/{task['id']}", headers=user.headers)

    await asyncio.gather(*(writer(n) for n in range(4)))
    for user in users:
        truth, seq = await snapshot(cluster.a.url, user)
        for sock in sockets[user.id]:
            await sock.wait_seq(seq, timeout=30)
            assert_contiguous(sock.events)
            mirror: dict[str, dict[str, object]] = {}
            for event in sock.events:
                apply(mirror, event)
            assert mirror == truth
            assert sock.hello["user_id"] == user.id
            # Every task this socket heard of is one of this user's (titles carry the owner).
            own = {e["task"]["id"] for e in sock.events if e["type"] == "task.created"}
            assert all(
                e["task"]["title"].startswith(user.id + ":") for e in sock.events if "title" in e["task"]
            )
            assert {e["task"]["id"] for e in sock.events} <= own
    for group in sockets.values():
        for sock in group:
            await sock.__aexit__(None, None, None)
