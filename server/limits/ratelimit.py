"""Per-user request rates: writes, reads and stream opens, each its own budget.

The algorithm is the `limits` library's sliding-window counter, stored in Redis (its
RedisStorage, through the library's strategy) to share budgets across processes, or per
process in `server.limits.ratelimit_local` (in one step, with the same arithmetic). This
module picks the budget for a request, turns the verdict into the IETF `RateLimit` /
`RateLimit-Policy` header fields (draft-ietf-httpapi-ratelimit-headers) and
`Retry-After`, and keeps a Redis outage from turning into refused requests: while the
shared store cannot be reached, each process counts on its own (one log line per
outage), and it tries the shared store again after a short pause.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from enum import StrEnum
from typing import NamedTuple

import limits
import redis.asyncio
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.driver_info import DriverInfo

from server.limits.ratelimit_local import LocalWindows
from server.limits.refusals import held_for
from server.runtime.metrics import Metrics
from server.settings import Settings

log = logging.getLogger(__name__)

# After a failed call to the shared store, count locally for this long before trying it
# again: a dead Redis must not add its timeout to every request.
_RETRY_SHARED_SECONDS = 5.0
# Redis is on the request path: a store slower than this is treated as down.
_SHARED_TIMEOUT_SECONDS = 0.25
# Users remembered as refused (for the fast refusal and the once-per-window log line).
_REFUSED_USERS = 10_000


class Budget(StrEnum):
    WRITES = "writes"
    READS = "reads"
    STREAMS = "streams"


# Every header field a verdict may give (`Verdict.headers`).
FIELD_NAMES = ("RateLimit-Policy", "RateLimit", "Retry-After")


class Verdict(NamedTuple):
    """One request's count against a budget (a tuple: every request builds one)."""

    budget: Budget
    allowed: bool
    quota: int
    window_seconds: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        """`RateLimit-Policy` and `RateLimit` (structured fields, draft-10), plus
        `Retry-After` when refused."""
        name = f'"{self.budget.value}"'
        out = {
            "RateLimit-Policy": f"{name};q={self.quota};w={self.window_seconds}",
            "RateLimit": f"{name};r={self.remaining};t={self.reset_seconds}",
        }
        if not self.allowed:
            out["Retry-After"] = str(self.reset_seconds)
        return out


def shared_store_url(settings: Settings) -> str:
    """The Redis that limits are shared through: `RATE_LIMIT_URL`, else the Redis fan-out;
    empty for per-process limits (also when `RATE_LIMIT_URL=memory://`)."""
    url = settings.rate_limit_url or settings.broadcast_url
    return url if url.startswith(("redis://", "rediss://")) else ""


class RateLimiter:
    """Counts each user's requests per budget; opened and closed with the app."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self._items = {
            Budget.WRITES: limits.parse(settings.rate_limit_writes),
            Budget.READS: limits.parse(settings.rate_limit_reads),
            Budget.STREAMS: limits.parse(settings.rate_limit_stream_opens),
        }
        # (amount, window) of each budget, read on every request.
        self._sizes = {budget: (item.amount, item.get_expiry()) for budget, item in self._items.items()}
        # The local store's key of a user's count is this and the user id: any key unique
        # to the budget and user will do (a budget's name has no "/"), and joining two
        # strings is cheaper than `item.key_for`.
        self._prefixes = {budget: f"{budget.value}/" for budget in Budget}
        self._local = LocalWindows()
        self._shared: SlidingWindowCounterRateLimiter | None = None
        self._pool: redis.asyncio.ConnectionPool | None = None
        url = shared_store_url(settings)
        if url:
            # Our own pool, handed to `limits` through its `connection_pool` option, so
            # that the app can close it (the storage has no close of its own).
            self._pool = redis.asyncio.ConnectionPool.from_url(
                url,
                socket_timeout=_SHARED_TIMEOUT_SECONDS,
                socket_connect_timeout=_SHARED_TIMEOUT_SECONDS,
                # Built once: by default each new connection looks its library version
                # up in the installed package's metadata (files read and parsed, several
                # ms of the event loop), and the pool opens connections under a burst.
                driver_info=DriverInfo(),
            )
            storage = RedisStorage(
                f"async+{url}",
                # A documented option of RedisStorage, though its `**options` are typed
                # as scalars only.
                connection_pool=self._pool,  # type: ignore[arg-type]
                implementation="redispy",
                wrap_exceptions=True,
            )
            self._shared = SlidingWindowCounterRateLimiter(storage)
        self._shared_down_until = 0.0
        self._metrics = metrics
        self._refusal_delay = settings.rate_limit_refusal_delay_seconds
        # Users refused lately, until when (wall time): until then this process refuses
        # them again at once, without asking the store — a client in a retry loop then
        # costs a verified token and a dictionary lookup per request, not a Redis round
        # trip. It is also what makes the log line once per user and window.
        self._refused_until: OrderedDict[tuple[str, Budget], float] = OrderedDict()

    async def check(
        self, budget: Budget, user_id: str, before_hold: Callable[[], None] | None = None
    ) -> Verdict:
        """Count one request of `user_id` against `budget`; a refusal is returned only
        after the refusal delay (see `_hold`), and `before_hold` is called before it
        (to give back what the request holds while it only waits)."""
        verdict = await self._verdict(budget, user_id)
        if not verdict.allowed:
            if before_hold is not None:
                before_hold()
            await self._hold(verdict)
        return verdict

    async def _verdict(self, budget: Budget, user_id: str) -> Verdict:
        amount, window = self._sizes[budget]
        key = (user_id, budget)
        now = time.time()
        until = self._refused_until.get(key, 0.0)
        if until > now:
            self._metrics.limited.labels(budget.value).inc()
            return Verdict(budget, False, amount, window, 0, max(1, math.ceil(until - now)))
        if self._shared is None:  # this process's store: no await
            allowed, remaining, reset_at = self._hit_locally(budget, user_id, amount, window, now)
        else:
            allowed, remaining, reset_at = await self._hit(budget, user_id, amount, window)
            now = time.time()
        verdict = Verdict(
            budget,
            allowed,
            amount,
            window,
            max(0, remaining),
            # The window's end is not yet the moment a hit fits again: a sliding-window
            # counter still weighs the ended window's hits (at most `amount` of them) at
            # first, and one slot frees after at most window / amount more.
            max(1, math.ceil(reset_at - now + window / amount)),
        )
        if not allowed:
            self._metrics.limited.labels(budget.value).inc()
            self._refused(key, verdict)
        return verdict

    async def _hit(self, budget: Budget, user_id: str, amount: int, window: int) -> tuple[bool, int, float]:
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            item = self._items[budget]
            try:
                # `limits` keys a counter by the limit and the identifiers: without the
                # budget's name, two budgets with the same limit string would share one.
                allowed = await self._shared.hit(item, budget.value, user_id)
                stats = await self._shared.get_window_stats(item, budget.value, user_id)
                return allowed, stats.remaining, stats.reset_time
            except StorageError as exc:
                if self._shared_down_until == 0.0 or time.monotonic() >= self._shared_down_until:
                    log.warning(
                        "rate-limit store unreachable, limits are per process until it returns: %s", exc
                    )
                self._shared_down_until = time.monotonic() + _RETRY_SHARED_SECONDS
        # The shared store is down: this process's own.
        return self._hit_locally(budget, user_id, amount, window, time.time())

    def _hit_locally(
        self, budget: Budget, user_id: str, amount: int, window: int, now: float
    ) -> tuple[bool, int, float]:
        return self._local.hit_with_stats(self._prefixes[budget] + user_id, amount, window, now)

    async def _hold(self, verdict: Verdict) -> None:
        """Wait a little before a refused request is answered (at most its Retry-After).

        A client in a tight retry loop sends its next request as soon as the last one is
        answered; however cheap a refusal is, such a loop takes all the CPU it can get
        and the other users' latency with it. Holding each refusal back (an idle
        coroutine, no CPU) caps that loop at one request per delay per connection. The
        hold is spread (`held_for`) so that refusals made together are not answered,
        and retried, together.
        """
        if self._refusal_delay > 0:
            await asyncio.sleep(min(held_for(self._refusal_delay), verdict.reset_seconds))

    def _refused(self, key: tuple[str, Budget], verdict: Verdict) -> None:
        now = time.time()
        # Logged when its last refusal ended more than a window ago: once per episode.
        if self._refused_until.get(key, 0.0) < now - verdict.window_seconds:
            log.warning(
                "user over the %s rate limit (%d per %d s)",
                verdict.budget.value,
                verdict.quota,
                verdict.window_seconds,
                extra={"user_id": key[0], "budget": verdict.budget.value},
            )
        self._refused_until[key] = now + verdict.reset_seconds
        self._refused_until.move_to_end(key)
        while len(self._refused_until) > _REFUSED_USERS:
            self._refused_until.popitem(last=False)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()
