"""The WebSocket section of the contract: authentication, origin, messages, close codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx
import pytest
import websockets

from tests.realtime.conftest import Cluster
from tests.realtime.live import LiveSocket, assert_contiguous
from tests.realtime.test_sync_guarantees import write
from tests.support import User, metric, mint, past, wait_for_metric


async def test_first_message_auth(cluster: Cluster, user: User) -> None:
    async with LiveSocket(cluster.a.ws_url, user, header_auth=False, origin="http://app.example") as sock:
        await sock.wait_for(lambda s: bool(s.frames))
        assert sock.hello["user_id"] == user.id


async def test_no_auth_message_within_the_deadline_closes_4401(cluster: Cluster, user: User) -> None:
    async with websockets.connect(cluster.a.ws_url) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            # The test servers' deadline is 1 s; the bound only ends a hang.
            await asyncio.wait_for(ws.recv(), 20)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


@pytest.mark.parametrize(
    "first",
    ['{"type": "auth", "token": "garbage"}', '{"type": "ping"}', "not json", '{"type": "auth"}'],
)
async def test_bad_first_message_closes_4401(cluster: Cluster, first: str) -> None:
    async with websockets.connect(cluster.a.ws_url) as ws:
        await ws.send(first)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_bad_header_token_closes_4401(cluster: Cluster) -> None:
    expired = User(token=mint("x", ttl=-3600))
    async with LiveSocket(cluster.a.ws_url, expired) as sock:
        assert await sock.wait_closed() == 4401
    assert sock.frames == []


async def test_origin_allow_list(cluster: Cluster, user: User) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with LiveSocket(cluster.a.ws_url, user, origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    async with LiveSocket(cluster.a.ws_url, user, origin="http://app.example") as sock:
        await sock.wait_for(lambda s: bool(s.frames))
    # The server's own pages (the demo at /) are same-origin and need no configuration.
    async with LiveSocket(cluster.a.ws_url, user, origin=cluster.a.url) as sock:
        await sock.wait_for(lambda s: bool(s.frames))
    lookalike = cluster.a.url.replace("127.0.0.1", "127.0.0.1.evil.example")
    with pytest.raises(websockets.InvalidStatus):
        async with LiveSocket(cluster.a.ws_url, user, origin=lookalike):
            pass


@pytest.mark.parametrize("since", ["-1", "abc", "1.5", "%00"])
async def test_bad_since_closes_1008(cluster: Cluster, user: User, since: str) -> None:
    url = f"{cluster.a.ws_url}?since={since}"
    async with websockets.connect(url, additional_headers=user.headers) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_ping_errors_and_binary(cluster: Cluster, user: User) -> None:
    async with LiveSocket(cluster.a.ws_url, user) as sock:
        await sock.send({"type": "ping"})
        assert await sock.next_frame("pong") == {"type": "pong"}
        await sock.send("{nope")
        assert (await sock.next_frame("error"))["code"] == "invalid_json"
        await sock.send({"type": "subscribe"})
        assert (await sock.next_frame("error"))["code"] == "unknown_type"
        await sock.send([1, 2])
        assert (await sock.next_frame("error"))["code"] == "unknown_type"
        await sock.send({"type": "ping"})  # still open after errors
        await sock.next_frame("pong")
        await sock.send(b"\x00\x01")
        assert await sock.wait_closed() == 1003


async def test_message_too_big_closes_1009(cluster: Cluster, user: User) -> None:
    async with LiveSocket(cluster.a.ws_url, user) as sock:
        await sock.send({"type": "ping", "pad": "x" * 200_000})
        assert await sock.wait_closed() == 1009


async def test_token_expiry_closes_4401_and_refresh_extends(cluster: Cluster) -> None:
    short = User(token=mint("expiring-user", ttl=2))
    async with LiveSocket(cluster.a.ws_url, short) as sock:
        assert await sock.wait_closed(timeout=20) == 4401
    refreshed = User(id="refreshing-user", token=mint("refreshing-user", ttl=2))
    first_exp = time.time() + 2
    async with LiveSocket(cluster.a.ws_url, refreshed) as sock:
        await sock.wait_for(lambda s: bool(s.frames))
        await sock.send({"type": "auth", "token": mint("refreshing-user", ttl=3600)})
        await past(first_exp + 1)  # the scenario: the first token has expired
        await sock.send({"type": "ping"})
        await sock.next_frame("pong")
        assert sock.close_code is None


async def test_each_socket_closes_at_its_own_token_expiry(cluster: Cluster) -> None:
    # One expiry sweep per server process, by the second: two sockets due in the same
    # second, one of them refreshed (it is filed again, not closed), and one due later.
    exp = int(time.time()) + 3
    soon = User(id="soon-user", token=mint("soon-user", exp=exp))
    refreshed = User(id="refreshed-user", token=mint("refreshed-user", exp=exp))
    later = User(id="later-user", token=mint("later-user", exp=exp + 3))
    async with (
        LiveSocket(cluster.a.ws_url, soon) as first,
        LiveSocket(cluster.a.ws_url, refreshed) as kept,
        LiveSocket(cluster.a.ws_url, later) as last,
    ):
        for sock in (first, kept, last):
            await sock.wait_for(lambda s: bool(s.frames))
        await kept.send({"type": "auth", "token": mint("refreshed-user", ttl=3600)})
        await kept.send({"type": "ping"})
        await kept.next_frame("pong")  # the refresh is in before the first token expires
        assert await first.wait_closed(timeout=20) == 4401
        assert first.close_reason == "token expired"
        assert last.close_code is None  # its token has seconds left
        assert await last.wait_closed(timeout=20) == 4401
        assert last.close_reason == "token expired"
        await kept.send({"type": "ping"})
        await kept.next_frame("pong")
        assert kept.close_code is None


async def test_refresh_with_another_sub_closes_4401(cluster: Cluster, user: User) -> None:
    async with LiveSocket(cluster.a.ws_url, user) as sock:
        await sock.wait_for(lambda s: bool(s.frames))
        await sock.send({"type": "auth", "token": mint("somebody-else")})
        assert await sock.wait_closed() == 4401


async def test_a_refused_refresh_closes_4401(cluster: Cluster, user: User) -> None:
    # Retried for free on an open socket, a bad token would cost a verification each time.
    async with LiveSocket(cluster.a.ws_url, user) as sock:
        await sock.wait_for(lambda s: bool(s.frames))
        await sock.send({"type": "auth", "token": "not-a-token"})
        assert await sock.wait_closed() == 4401


async def test_a_message_flood_closes_4429_and_costs_others_nothing(cluster: Cluster, user: User) -> None:
    async with LiveSocket(cluster.a.ws_url, User()) as bystander, LiveSocket(cluster.a.ws_url, user) as flood:
        await flood.wait_for(lambda s: bool(s.frames))
        await bystander.wait_for(lambda s: bool(s.frames))
        with contextlib.suppress(websockets.ConnectionClosed):
            for _ in range(200):  # far past the burst (10 by default)
                await flood.send({"type": "ping"})
        assert await flood.wait_closed() == 4429
        assert flood.close_reason == "too many messages on this socket"
        pongs = [frame for frame in flood.frames if frame.get("type") == "pong"]
        assert 1 <= len(pongs) <= 12  # the burst was answered, the flood was not
        await bystander.send({"type": "ping"})
        await bystander.next_frame("pong")


async def test_a_hard_flood_is_dropped_before_it_is_parsed(cluster: Cluster, user: User) -> None:
    # Far past the bytes an open socket may send (two of the largest messages, then
    # 4 KiB/s): the connection is dropped at once, without a closing handshake whose
    # wait would let the flood go on being parsed; other users are unaffected.
    async with LiveSocket(cluster.a.ws_url, User()) as bystander, LiveSocket(cluster.a.ws_url, user) as flood:
        await flood.wait_for(lambda s: bool(s.frames))
        await bystander.wait_for(lambda s: bool(s.frames))
        # Four messages of 60 KB: each under the message size limit, and too few for the
        # message budget (its burst is 10), but 240 KB where the byte bound allows 128 KB.
        ping = json.dumps({"type": "ping", "pad": "p" * 60_000})
        with contextlib.suppress(websockets.ConnectionClosed):
            for _ in range(4):
                await flood.send(ping)
        assert await flood.wait_closed() == 1006
        await bystander.send({"type": "ping"})
        await bystander.next_frame("pong")


async def test_per_user_socket_cap_closes_4429(cluster: Cluster, user: User) -> None:
    sockets = [LiveSocket(cluster.a.ws_url, user) for _ in range(12)]  # the test servers' cap
    for sock in sockets:
        await sock.__aenter__()
        await sock.wait_for(lambda s: bool(s.frames))
    async with LiveSocket(cluster.a.ws_url, user) as extra:
        assert await extra.wait_closed() == 4429
    async with LiveSocket(cluster.a.ws_url, User()) as other:  # other users are unaffected
        await other.wait_for(lambda s: bool(s.frames))
    for sock in sockets:
        await sock.__aexit__(None, None, None)


async def test_resync_when_since_is_newer_than_head(cluster: Cluster, user: User) -> None:
    await write(cluster.a.url, user, 2)
    async with LiveSocket(cluster.b.ws_url, user, since=99) as sock:
        resync = await sock.next_frame("resync")
        assert resync == {"type": "resync", "seq": 2}
        assert sock.hello["seq"] == 2
        await write(cluster.a.url, user, 1)
        await sock.wait_seq(3)  # live from the head after a resync
    assert [e["seq"] for e in sock.events] == [3]


async def test_brief_stall_catches_up_from_the_log(cluster: Cluster, user: User) -> None:
    """A burst far bigger than a stream's buffer (20 on the test servers) is no reason to
    close a client that keeps reading: its stream reads the overflow back from the log."""
    async with LiveSocket(cluster.b.ws_url, user, since=0) as sock:
        await asyncio.gather(*(write(cluster.a.url, user, 25, f"w{i}-") for i in range(4)))
        await sock.wait_seq(100, timeout=30)
        assert sock.close_code is None
    assert_contiguous(sock.events)


async def test_stalled_client_is_closed_4408_and_others_continue(cluster: Cluster, user: User) -> None:
    # ~16 MB in all: more than loopback's socket buffers can hide from the server.
    big = "😀" * 10_000
    closed_before = await metric(cluster.b.url, "tasksync_slow_consumer_closes_total")
    stalled = LiveSocket(cluster.b.ws_url, user, read=False)
    await stalled.__aenter__()
    async with LiveSocket(cluster.b.ws_url, user) as healthy:
        async with httpx.AsyncClient(base_url=cluster.a.url, headers=user.headers) as client:
            for i in range(400):
                await client.post("/api/tasks", json={"title": f"t{i}", "description": big})
        await healthy.wait_seq(400, timeout=60)
        assert_contiguous(healthy.events)
        assert healthy.close_code is None
    assert stalled.ws is not None
    # The scenario itself: the client stays stalled past the servers' STREAM_LAG_SECONDS
    # (2 s), until the server gives up on it. A client that starts reading sooner catches
    # up from the log instead.
    slow_closes = "tasksync_slow_consumer_closes_total"
    await wait_for_metric(cluster.b.url, slow_closes, lambda n: n > closed_before, timeout=30)
    # Drain what the kernel buffered; the server ended the socket with 4408.
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(stalled.ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
