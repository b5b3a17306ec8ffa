"""The token-expiry sweep (one timer per process for every open socket): a socket is
checked once its deadline's whole second has come, never before, and one that moved
its deadline (a refreshed token) is checked again at the new one."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

import pytest

from server.realtime.expiry import ExpirySweep

pytestmark = pytest.mark.unit


class Socket:
    """What the sweep holds: something told when its filed second has come."""

    def __init__(self, name: str, on_check: Callable[[Socket], None] | None = None) -> None:
        self.name = name
        self.checked_at: list[float] = []
        self._on_check = on_check

    def check_expiry(self) -> None:
        self.checked_at.append(time.time())
        if self._on_check is not None:
            self._on_check(self)


async def _turns(n: int = 3) -> None:
    # A due second is swept by a timer of delay 0: a few turns of the loop run it.
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_socket_past_its_deadline_is_checked_at_once() -> None:
    sweep = ExpirySweep()
    late = Socket("late")
    sweep.file(late, time.time() - 5)
    await _turns()
    assert len(late.checked_at) == 1
    sweep.close()


async def test_every_due_second_is_swept_and_each_socket_once() -> None:
    sweep = ExpirySweep()
    sockets = [Socket(f"s{i}") for i in range(5)]
    now = time.time()
    for i, socket in enumerate(sockets):
        sweep.file(socket, now - 10 + i)  # five different past seconds
    sweep.file(sockets[0], now - 10)  # filed twice in its second: still checked once
    await _turns()
    assert [len(s.checked_at) for s in sockets] == [1] * 5
    await asyncio.sleep(0.05)
    assert [len(s.checked_at) for s in sockets] == [1] * 5
    sweep.close()


async def test_a_socket_is_never_checked_before_its_deadline() -> None:
    sweep = ExpirySweep()
    socket = Socket("soon")
    deadline = time.time() + 0.3
    second = sweep.file(socket, deadline)
    assert second == math.ceil(deadline)  # the second a token's whole-second `exp` names
    await asyncio.wait_for(_checked(socket), timeout=3)
    assert socket.checked_at[0] >= deadline
    # Within a second after the deadline (plus the loop's own lateness).
    assert socket.checked_at[0] < deadline + 1.5
    sweep.close()


async def test_a_removed_socket_is_not_checked() -> None:
    sweep = ExpirySweep()
    gone, staying = Socket("gone"), Socket("staying")
    past = time.time() - 1
    second = sweep.file(gone, past)
    sweep.file(staying, past)
    sweep.remove(gone, second)
    sweep.remove(gone, second)  # twice, or after it left: a no-op
    await _turns()
    assert (gone.checked_at, len(staying.checked_at)) == ([], 1)
    sweep.remove(staying, second)  # after its sweep: a no-op too
    sweep.close()


async def test_removing_the_last_socket_and_filing_again_still_sweeps() -> None:
    sweep = ExpirySweep()
    first = Socket("first")
    second = sweep.file(first, time.time() + 30)
    sweep.remove(first, second)  # the last one: the timer stops
    again = Socket("again")
    sweep.file(again, time.time() - 1)
    await _turns()
    assert (first.checked_at, len(again.checked_at)) == ([], 1)
    sweep.close()


async def test_a_socket_whose_deadline_moved_files_itself_again_and_is_checked_then() -> None:
    sweep = ExpirySweep()
    new_deadline = time.time() + 0.2

    def refreshed(socket: Socket) -> None:
        # The token was refreshed since filing: the socket is not due, and files again.
        if len(socket.checked_at) == 1:
            sweep.file(socket, new_deadline)

    socket = Socket("refreshed", refreshed)
    sweep.file(socket, time.time() - 1)
    await _turns()
    assert len(socket.checked_at) == 1  # not swept twice by the sweep that refiled it
    await asyncio.wait_for(_checked(socket, times=2), timeout=3)
    assert socket.checked_at[1] >= new_deadline
    sweep.close()


async def test_an_earlier_deadline_filed_later_rearms_the_timer() -> None:
    sweep = ExpirySweep()
    far, near = Socket("far"), Socket("near")
    sweep.file(far, time.time() + 60)
    sweep.file(near, time.time() - 1)
    await _turns()
    assert (len(near.checked_at), far.checked_at) == (1, [])
    sweep.close()


async def test_one_failing_check_leaves_no_socket_of_its_second_unswept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(_socket: Socket) -> None:
        raise RuntimeError("the socket's check failed")

    sweep = ExpirySweep()
    sockets = [Socket("a"), Socket("b", broken), Socket("c")]
    past = time.time() - 1
    for socket in sockets:
        sweep.file(socket, past)
    with caplog.at_level(logging.ERROR, logger="server.realtime.expiry"):
        await _turns()
    assert [len(s.checked_at) for s in sockets] == [1, 1, 1]
    assert [r.getMessage() for r in caplog.records] == ["token expiry check failed"]
    sweep.close()


async def test_close_forgets_every_socket() -> None:
    sweep = ExpirySweep()
    socket = Socket("open at shutdown")
    sweep.file(socket, time.time() - 1)
    sweep.close()
    await _turns()
    assert socket.checked_at == []


async def _checked(socket: Socket, times: int = 1) -> None:
    while len(socket.checked_at) < times:
        await asyncio.sleep(0.01)
