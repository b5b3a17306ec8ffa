"""A socket's bytes cut for the parser: the handshake, then one frame at a time, each
found from its header alone; after this side's close, only a close frame is kept.
Frames are made by the `websockets` library itself, masked as a client sends them."""

from __future__ import annotations

import pytest
from websockets.frames import Close, Frame, Opcode

from server.limits.ws_frames import FrameFeed, frame_length

HEAD = b"GET /api/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"


def text(payload: bytes) -> bytes:
    return Frame(Opcode.TEXT, payload).serialize(mask=True)


def close() -> bytes:
    return Frame(Opcode.CLOSE, Close(4429, "bye").serialize()).serialize(mask=True)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 200_000])
def test_a_frames_length_comes_from_its_header(size: int) -> None:
    frame = text(b"x" * size)
    assert frame_length(frame) == len(frame)
    assert frame_length(frame + text(b"next")) == len(frame)


@pytest.mark.parametrize("size", [0, 126, 65_536])
def test_a_partial_header_has_no_length_yet(size: int) -> None:
    frame = text(b"x" * size)
    header = 2 + (2 if size >= 126 else 0) + (6 if size >= 65_536 else 0)
    for cut in range(header):
        assert frame_length(frame[:cut]) is None
    assert frame_length(frame[:header]) == len(frame)  # the mask key may be still on its way


def drain(feed: FrameFeed, closing: bool = False) -> list[bytes]:
    chunks = []
    while feed.ready():
        chunk = feed.next_chunk(closing)
        if not chunk:
            break
        chunks.append(chunk)
    return chunks


def test_the_handshake_then_one_frame_per_chunk() -> None:
    pings = [text(b'{"type":"ping"}') for _ in range(50)]
    feed = FrameFeed()
    feed.add(HEAD + b"".join(pings))
    assert drain(feed) == [HEAD, *pings]
    assert not feed.pending


@pytest.mark.parametrize("cut", range(1, len(HEAD)))
def test_a_handshake_split_anywhere_still_ends_where_it_ends(cut: int) -> None:
    ping = text(b'{"type":"ping"}')
    feed = FrameFeed()
    feed.add(HEAD[:cut])
    fed = drain(feed)
    feed.add(HEAD[cut:] + ping + ping)
    fed += drain(feed)
    assert b"".join(fed) == HEAD + ping + ping
    assert fed[-2:] == [ping, ping]  # after the handshake, one frame per chunk


def test_a_frame_arriving_in_pieces_is_fed_as_it_comes() -> None:
    big, small = text(b"y" * 70_000), text(b"z")
    feed = FrameFeed()
    feed.add(HEAD)
    assert drain(feed) == [HEAD]
    fed = []
    for start in range(0, len(big), 1000):  # the big frame in 1000-byte reads
        feed.add(big[start : start + 1000])
        fed += drain(feed)
    feed.add(small[:1])  # half a header: nothing to cut until the rest arrives
    assert not feed.ready() and drain(feed) == []
    feed.add(small[1:])
    assert b"".join(fed) == big and all(len(chunk) <= 1000 for chunk in fed)
    assert drain(feed) == [small]


def test_after_this_sides_close_only_the_clients_close_frame_is_kept() -> None:
    pings = b"".join(text(b'{"type":"ping"}') for _ in range(100))
    first, bye = text(b"first"), close()
    feed = FrameFeed()
    feed.add(HEAD + first)
    assert drain(feed) == [HEAD, first]
    # A big frame already under way is finished, then the rest is dropped unparsed.
    big = text(b"b" * 5000)
    feed.add(big[:100])
    assert drain(feed) == [big[:100]]
    feed.add(big[100:] + pings + bye + pings)
    assert drain(feed, closing=True) == [big[100:], bye]
    assert not feed.pending
