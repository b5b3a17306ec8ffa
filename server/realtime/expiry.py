"""One token-expiry sweep per process, for every open socket.

A process holds tens of thousands of idle sockets, and each one's token expires. A
timer per socket (`loop.call_later`: a handle, a bound method, a copy of the context,
a slot in the loop's heap) is about 280 bytes by tracemalloc; here a socket is one
entry in the set of the whole second it is due in (about 30 bytes, and the int naming
that second), and the process has one timer, armed for the earliest occupied second
(none while no socket is filed).

When a second comes, its sockets leave the sweep and each checks its own deadline: a
refresh may have moved it on (`expires_at` changes without telling the sweep), and the
socket then files itself again, at its new deadline. So a socket closes within a second
after its deadline, never before it.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import time
from typing import Protocol

__all__ = ["Expiring", "ExpirySweep"]

log = logging.getLogger(__name__)


class Expiring(Protocol):
    def check_expiry(self) -> None:
        """The filed second has come: end, or `file` again at the (moved) deadline."""


class ExpirySweep:
    """The sockets of this process by the whole second (wall clock, as a token's `exp`)
    their deadline falls due in.

    Example::

        second = sweep.file(session, principal.expires_at + leeway)
        ...
        sweep.remove(session, second)  # the socket ended first
    """

    __slots__ = ("_armed_for", "_buckets", "_filed", "_seconds", "_timer")

    def __init__(self) -> None:
        self._buckets: dict[int, set[Expiring]] = {}
        # The keys of `_buckets`, as a heap: the next second to sweep is `_seconds[0]`.
        self._seconds: list[int] = []
        self._filed = 0  # sockets in all buckets, so the last one leaving can stop the timer
        self._timer: asyncio.TimerHandle | None = None
        self._armed_for = 0

    def file(self, item: Expiring, deadline: float) -> int:
        """Call `item.check_expiry()` once `deadline` (a `time.time()`) has passed; the
        second it was filed in, for `remove`."""
        # The first whole second not before the deadline: a token's `exp` is whole
        # seconds, so with no leeway a socket closes at its token's expiry exactly.
        second = math.ceil(deadline)
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = set()
            heapq.heappush(self._seconds, second)
        if item not in bucket:
            bucket.add(item)
            self._filed += 1
        self._arm()
        return second

    def remove(self, item: Expiring, second: int) -> None:
        """Forget `item` (filed in `second`): it ended before its deadline. A no-op once
        the sweep has passed `second`."""
        bucket = self._buckets.get(second)
        if bucket is None or item not in bucket:
            return
        # An emptied bucket stays until its second (or until the last socket leaves):
        # deleting it here would leave its second in the heap, once more for every
        # socket that files into the same second again (a client reconnecting with the
        # same token).
        bucket.remove(item)
        self._filed -= 1
        if not self._filed:
            self.close()

    def close(self) -> None:
        """Forget every socket and stop the timer."""
        self._buckets.clear()
        self._seconds.clear()
        self._filed = 0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        head = self._seconds[0]
        if self._timer is not None:
            if self._armed_for == head:
                return
            self._timer.cancel()
        self._armed_for = head
        self._timer = asyncio.get_running_loop().call_later(max(0.0, head - time.time()), self._sweep)

    def _sweep(self) -> None:
        self._timer = None
        now = time.time()
        due: list[set[Expiring]] = []
        # Every due bucket is taken out before any socket checks itself: one that files
        # itself again lands in a later second (unless the wall clock stepped back), and
        # is not swept twice in this call either way.
        while self._seconds and self._seconds[0] <= now:
            bucket = self._buckets.pop(heapq.heappop(self._seconds))
            self._filed -= len(bucket)
            due.append(bucket)
        for bucket in due:
            for item in bucket:
                try:
                    item.check_expiry()
                except Exception:
                    # One socket's failure must not leave the others of its second unswept.
                    log.exception("token expiry check failed")
        if self._filed:
            self._arm()
        else:
            self.close()  # what is left are emptied buckets: no timer for them
