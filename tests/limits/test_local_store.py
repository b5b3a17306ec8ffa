"""The per-process counter store decides as `limits`' own memory store does: the same
requests are allowed, the same refused, with the same remaining budget."""

from __future__ import annotations

import limits
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from server.limits.ratelimit_local import LocalWindows


async def test_the_local_store_allows_and_refuses_like_limits_memory_store() -> None:
    item = limits.parse("5/minute")
    ours = SlidingWindowCounterRateLimiter(LocalWindows())
    theirs = SlidingWindowCounterRateLimiter(MemoryStorage())
    decisions = []
    for user in ("ada", "ada", "bob", "ada", "ada", "ada", "ada", "bob", "ada"):
        mine, reference = await ours.hit(item, user), await theirs.hit(item, user)
        left = (await ours.get_window_stats(item, user)).remaining
        assert (mine, left) == (reference, (await theirs.get_window_stats(item, user)).remaining)
        decisions.append((user, mine, left))
    assert [d for d in decisions if d[0] == "ada"][-2:] == [("ada", False, 0), ("ada", False, 0)]
    assert decisions[-2] == ("bob", True, 3)
    await ours.clear(item, "ada")
    assert await ours.hit(item, "ada")
