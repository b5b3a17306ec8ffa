"""The per-process counter store decides as `limits`' own memory store does: the same
requests are allowed, the same refused, with the same remaining budget."""

from __future__ import annotations

import random
import time

import limits
import pytest
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


async def test_one_step_hit_answers_as_the_strategys_hit_and_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    """`hit_with_stats` (the limiter's path on this store) against the library's strategy
    on its memory store, across windows: the previous window's weight, refusals, resets."""
    clock = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    item = limits.parse("5 per 10 seconds")
    ours = LocalWindows()
    theirs = SlidingWindowCounterRateLimiter(MemoryStorage())
    rng = random.Random(7)
    answers = []
    for _ in range(400):
        clock[0] += rng.choice((0.0, 0.0, 0.1, 0.5, 2.0, 12.5))
        user = rng.choice(("ada", "bob"))
        mine = ours.hit_with_stats(item.key_for("writes", user), item.amount, item.get_expiry(), time.time())
        allowed = await theirs.hit(item, "writes", user)
        stats = await theirs.get_window_stats(item, "writes", user)
        assert mine[:2] == (allowed, stats.remaining)
        assert mine[2] == pytest.approx(stats.reset_time)
        answers.append(mine[0])
    assert 0 < answers.count(False) < len(answers)  # both ways were taken
