"""A token bucket: `burst` at once, refilled at `per_second`. What an open socket may
send is bounded with it twice: in bytes before they are parsed (`server.limits.ws_guard`) and
in messages once they are (`server.api.ws_session`)."""

from __future__ import annotations

import time


class TokenBucket:
    __slots__ = ("_at", "_burst", "_per_second", "_tokens")

    def __init__(self, per_second: float, burst: float) -> None:
        self._per_second = per_second
        self._burst = float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()

    def take(self, amount: float = 1.0) -> bool:
        """Spend `amount` if the bucket holds that much now; False (nothing spent) if not."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._per_second)
        self._at = now
        if self._tokens < amount:
            return False
        self._tokens -= amount
        return True

    def cap(self, most: float) -> None:
        """Hold at most `most` from now on (until refilled past it)."""
        self._tokens = min(self._tokens, most)
