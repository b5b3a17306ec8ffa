"""What a websocket's received bytes are cut into before the parser sees them: the
handshake request, then one frame at a time.

`server.limits.ws_guard` feeds uvicorn's websocket protocol one chunk per turn of the
event loop. A chunk is a whole frame (or the part of one that has arrived), found from
the frame's header alone (RFC 6455 §5.2: two bytes, an extended length, a mask key),
without parsing it: the parser then never runs more than a frame ahead of the session,
which takes one message per turn, so a socket flooding tiny frames is closed by its
message budget after about as many frames as the budget allows, not after the hundreds
that a read full of them holds. Once this side has sent its close frame, only the
client's close frame matters: the frames before it are dropped unparsed.
"""

from __future__ import annotations

_CLOSE_OPCODE = 0x8
_END_OF_HEAD = b"\r\n\r\n"


def frame_length(data: bytes | bytearray) -> int | None:
    """The length in bytes of the frame `data` starts with (header, mask key and payload),
    or None while its header has not all arrived."""
    if len(data) < 2:
        return None
    size, head = data[1] & 0x7F, 2
    if size == 126:
        if len(data) < 4:
            return None
        size, head = int.from_bytes(data[2:4], "big"), 4
    elif size == 127:
        if len(data) < 10:
            return None
        size, head = int.from_bytes(data[2:10], "big"), 10
    if data[1] & 0x80:  # masked, as every client frame is: a 4-byte key
        head += 4
    return head + size


class FrameFeed:
    """Received bytes not yet given to the parser, and how to cut the next chunk."""

    __slots__ = ("_drop", "_head_tail", "_in_frames", "_rest", "pending")

    def __init__(self) -> None:
        self.pending = bytearray()
        self._in_frames = False  # the handshake request comes first
        self._head_tail = b""  # its last bytes fed so far: its end may span two reads
        self._rest = 0  # bytes of the current frame not cut yet
        self._drop = False  # the current frame is dropped, not fed

    def add(self, data: bytes) -> None:
        self.pending += data

    def ready(self) -> bool:
        """Whether a chunk can be cut now (not only part of a frame's header)."""
        if not self.pending:
            return False
        return not self._in_frames or self._rest > 0 or frame_length(self.pending) is not None

    def next_chunk(self, closing: bool) -> bytes:
        """The next bytes to parse: the rest of the handshake request, or one frame (as
        much of it as has arrived). With `closing` (this side's close frame is sent),
        frames other than a close frame are dropped here, unparsed."""
        pending = self.pending
        if not self._in_frames:
            end = (self._head_tail + pending).find(_END_OF_HEAD)
            cut = len(pending) if end < 0 else end + len(_END_OF_HEAD) - len(self._head_tail)
            self._in_frames = end >= 0
            chunk = self._cut(cut)
            self._head_tail = (self._head_tail + chunk)[-(len(_END_OF_HEAD) - 1) :]
            return chunk
        while pending:
            if self._rest == 0:
                length = frame_length(pending)
                if length is None:
                    return b""
                self._rest = length
                self._drop = closing and pending[0] & 0x0F != _CLOSE_OPCODE
            chunk = self._cut(min(self._rest, len(pending)))
            self._rest -= len(chunk)
            if not self._drop:
                return chunk
        return b""

    def _cut(self, n: int) -> bytes:
        chunk = bytes(self.pending[:n])
        del self.pending[:n]
        return chunk
