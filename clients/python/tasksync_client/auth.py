"""Bearer tokens: a fixed one, or a provider that mints fresh ones before they expire.

The client never verifies a token (the server does); it only reads the `exp` claim to
know when to ask the provider for the next one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable

from tasksync_client.errors import TokenProviderError

TokenProvider = Callable[[], Awaitable[str]]
"""An async callable returning a fresh bearer token (for example from your auth server)."""

# A provider that hands back the same stale token must not be called in a tight loop.
MIN_RENEW_INTERVAL = 1.0


def token_claims(token: str) -> dict[str, object]:
    """The claims of a JWT, read without verifying the signature ({} if it is not one)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT as a Unix time, read without verifying the signature."""
    exp = token_claims(token).get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return float(exp)
    return None


class Credentials:
    """The current token and, with a provider, its renewal ahead of `exp`.

    A token is due for renewal `refresh_margin` seconds before it expires, or after
    two thirds of its lifetime if that comes earlier (so short-lived tokens are renewed
    in time too). Concurrent callers share one provider call.
    """

    def __init__(self, token: str | TokenProvider, *, refresh_margin: float = 30.0) -> None:
        self._provider: TokenProvider | None = None if isinstance(token, str) else token
        self._token: str | None = token if isinstance(token, str) else None
        self._refresh_at: float | None = None
        self._renewed_at = -MIN_RENEW_INTERVAL
        self._margin = refresh_margin
        self._lock = asyncio.Lock()
        if self._token is not None:
            self._schedule(self._token)

    @property
    def renewable(self) -> bool:
        """Whether a refused or expiring token can be replaced (a provider was given)."""
        return self._provider is not None

    @property
    def current(self) -> str | None:
        """The token last handed out (None before the provider was first called)."""
        return self._token

    @property
    def expires_at(self) -> float | None:
        """The current token's `exp` (Unix time), if it has one."""
        return token_expiry(self._token) if self._token else None

    def refresh_in(self) -> float | None:
        """Seconds until the current token is due for renewal; None if it never is."""
        if self._provider is None or self._refresh_at is None:
            return None
        return self._refresh_at - time.time()

    async def token(self) -> str:
        """The token to send now, renewed first if it is due."""
        if self._token is None or self._due():
            async with self._lock:
                if self._token is None or self._due():
                    return await self._renew()
        assert self._token is not None
        return self._token

    async def renew(self, refused: str) -> str:
        """A new token after `refused` was refused (unless another caller already renewed it)."""
        async with self._lock:
            if self._token != refused or self._provider is None:
                assert self._token is not None
                return self._token
            return await self._renew()

    def _due(self) -> bool:
        wait = self.refresh_in()
        return wait is not None and wait <= 0 and time.monotonic() - self._renewed_at >= MIN_RENEW_INTERVAL

    async def _renew(self) -> str:
        assert self._provider is not None
        try:
            token = await self._provider()
        except Exception as exc:
            raise TokenProviderError(f"the token provider failed: {exc!r}") from exc
        if not isinstance(token, str) or not token:
            raise TokenProviderError("the token provider returned no token")
        self._token = token
        self._renewed_at = time.monotonic()
        self._schedule(token)
        return token

    def _schedule(self, token: str) -> None:
        exp = token_expiry(token)
        if exp is None:
            self._refresh_at = None
            return
        lifetime = max(exp - time.time(), 0.0)
        self._refresh_at = exp - min(self._margin, lifetime / 3)
