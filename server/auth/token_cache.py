"""Verified bearer tokens, remembered for a short while.

A client sends the same token with every request for the token's whole life, and
checking its signature and claims again (PyJWT) was the largest share of a request's
CPU after the database. Only tokens that passed verification are kept, keyed by the
whole token text, so nothing an attacker sends unverified takes a place; the cache is
bounded and the oldest entry goes first.

A remembered token still expires on time (its own `exp`, with the configured leeway,
is checked on every hit), and is verified afresh after `max_age` seconds at the latest,
so a key withdrawn from a JWKS stops being honoured within that time.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.auth.tokens import Principal

DEFAULT_CAPACITY = 4096
DEFAULT_MAX_AGE_SECONDS = 300.0


class VerifiedTokens:
    def __init__(
        self, leeway: float, capacity: int = DEFAULT_CAPACITY, max_age: float = DEFAULT_MAX_AGE_SECONDS
    ) -> None:
        self._leeway = leeway
        self._capacity = capacity
        self._max_age = max_age
        # token → (principal, monotonic time after which it is verified again)
        self._entries: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str) -> Principal | None:
        """The principal of a token verified earlier, unless it has expired since (then
        None: the caller verifies it again, and reports the expiry the usual way)."""
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, fresh_until = entry
        # As PyJWT: expired once `exp <= now - leeway`.
        if time.monotonic() > fresh_until or principal.expires_at <= time.time() - self._leeway:
            del self._entries[token]
            return None
        return principal

    def add(self, token: str, principal: Principal) -> None:
        if len(self._entries) >= self._capacity:
            del self._entries[next(iter(self._entries))]  # dicts keep insertion order
        self._entries[token] = (principal, time.monotonic() + self._max_age)
