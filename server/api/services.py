"""The app's services as a request reaches them (`Services`, opened by the lifespan), the
per-user cap on open streams, and `since`, the resume point every stream takes."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from server.auth.tokens import TokenVerifier
from server.db.database import Database
from server.errors import (
    TooManyRequests,
)
from server.limits.inflight import InFlight
from server.limits.openings import Openings
from server.limits.ratelimit import RateLimiter
from server.limits.refusals import RefusalHold
from server.settings import Settings
from server.users import SeenUsers

if TYPE_CHECKING:
    from server.realtime.hub import Hub


class StreamCounts:
    """Open streams per key (a user, or a client address) in this process, for the caps."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._total = 0

    def try_add(self, key: str, cap: int, total_cap: int | None = None) -> bool:
        """Count one more for `key`, unless `key` holds `cap` (or all keys `total_cap`)."""
        if self.full(key, cap) or (total_cap is not None and self._total >= total_cap):
            return False
        self._counts[key] += 1
        self._total += 1
        return True

    def full(self, key: str, cap: int) -> bool:
        return self._counts.get(key, 0) >= cap

    def remove(self, key: str) -> None:
        self._total -= 1
        self._counts[key] -= 1
        if self._counts[key] <= 0:
            del self._counts[key]


@dataclass
class Services:
    """Everything the lifespan opens, reachable from a request."""

    settings: Settings
    db: Database
    verifier: TokenVerifier
    seen_users: SeenUsers
    limiter: RateLimiter
    # Every open stream of a user (sockets, SSE, parked long-polls), for the per-user cap.
    streams: StreamCounts = field(default_factory=lambda: StreamCounts())
    # Sockets being opened right now, for the bound on handshakes at once.
    openings: Openings = field(default_factory=lambda: Openings(1_000_000))
    # Sockets accepted but not yet authenticated (first-message auth), per client address.
    unauthenticated: StreamCounts = field(default_factory=lambda: StreamCounts())
    # Each user's requests at work at once (see server.limits.inflight).
    in_flight: InFlight = field(default_factory=lambda: InFlight(1_000_000, 1_000_000))
    # Refused credentials, answered late (see server.limits.refusals).
    refusals: RefusalHold = field(default_factory=lambda: RefusalHold(0, 1))
    # Set when the server starts shutting down (see server.runtime.lifecycle).
    draining: asyncio.Event = field(default_factory=asyncio.Event)
    hub: Hub | None = None


# Where `services` keeps its answer in a connection's ASGI scope (an extension key).
_IN_SCOPE = "tasksync.services"


def services(conn: HTTPConnection) -> Services:
    # The scope's app (set by `Starlette.__call__`), as `conn.app` gives it, without
    # the property call; kept in the scope, since a write asks four times and each
    # `state.services` is a call of Starlette's `State.__getattr__`.
    scope = conn.scope
    found: Services | None = scope.get(_IN_SCOPE)
    if found is None:
        found = scope[_IN_SCOPE] = scope["app"].state.services
    return found


# When a user's streams are at their cap, a new one may fit once one of them ends.
STREAM_CAP_RETRY_SECONDS = 5


def too_many_streams() -> TooManyRequests:
    return TooManyRequests(
        "too many open streams for this user (sockets, SSE and long-polls together)",
        headers={"Retry-After": str(STREAM_CAP_RETRY_SECONDS)},
    )


def parse_since(raw: str | None) -> int | None:
    """`since` as a non-negative integer; anything else is a client error."""
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValueError("since must be a non-negative integer")
    return int(raw)
