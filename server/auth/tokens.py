"""Bearer token verification: an HS256 shared secret and/or a JWKS of asymmetric keys.

Algorithms come from configuration, never from the token header: the header's `alg`
only picks which configured verifier to try, and each verifier passes its own fixed
list to PyJWT. With a JWKS the key object carries its own algorithm, so a token that
claims HS256 can never be checked against a public key used as a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from server.auth.token_cache import VerifiedTokens
from server.db.tables import USER_ID_MAX
from server.errors import Unauthorized
from server.schemas import is_storable
from server.settings import Settings

log = logging.getLogger(__name__)

_REQUIRED_CLAIMS = ["exp", "sub"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller: the token's `sub`, a few profile claims, and its expiry."""

    user_id: str
    email: str | None
    name: str | None
    expires_at: float


class JwksCache:
    """The keys of a JWKS URL, fetched with a non-blocking client and kept for a while.

    An unknown `kid` triggers one refetch (key rotation), at most once per
    `min_refetch` seconds so that forged `kid`s cannot hammer the key server.
    Concurrent misses share one fetch. When the cached set merely grows old, requests go
    on verifying against it while one refresh runs in the background: a slow or hung
    key server never stalls sign-ins that its current keys can answer.
    """

    def __init__(self, url: str, ttl: float, min_refetch: float, timeout: float) -> None:
        self._url = url
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._timeout = timeout
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        # The last fetch attempt, failed or not. The refetch rate limit counts from here:
        # counting from `_fetched_at` alone let every request refetch (twice) while the
        # key server was failing, since a failure does not move `_fetched_at` forward.
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def key_for(self, kid: str | None) -> jwt.PyJWK | None:
        if time.monotonic() - self._fetched_at > self._ttl:
            if not self._keys:
                await self._refresh(force=True)  # nothing to verify with yet
            elif self._background is None or self._background.done():
                self._background = asyncio.create_task(self._refresh(force=True), name="jwks-refresh")
        key = self._lookup(kid)
        if key is None:
            await self._refresh(force=False)
            key = self._lookup(kid)
        return key

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is not None:
            return self._keys.get(kid)
        # A token without `kid` is only unambiguous when the set holds a single key.
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    async def _refresh(self, *, force: bool) -> None:
        started = time.monotonic()
        async with self._lock:
            if self._attempted_at >= started:
                return  # another request fetched (or tried to) while we waited
            if not force and started - self._attempted_at < self._min_refetch:
                return
            try:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(self._url)
                    response.raise_for_status()
                    data = response.json()
                if not isinstance(data, dict):
                    # PyJWKSet.from_dict raises AttributeError (a 500) on a JSON array or null.
                    raise ValueError(f"expected a JSON object, got {type(data).__name__}")
                key_set = jwt.PyJWKSet.from_dict(data)
            except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
                log.warning("JWKS fetch from %s failed: %s", self._url, exc)
                # Keep serving the keys we had; retry no sooner than min_refetch.
                self._fetched_at = time.monotonic() - self._ttl + self._min_refetch
                self._attempted_at = time.monotonic()
                return
            self._keys = {k.key_id or f"#{i}": k for i, k in enumerate(key_set.keys)}
            self._fetched_at = self._attempted_at = time.monotonic()

    async def aclose(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background


class TokenVerifier:
    """Turns a bearer token into a `Principal` or raises `Unauthorized`."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._secret = settings.hs256_secret()
        self._jwks = (
            JwksCache(
                settings.jwks_url,
                ttl=settings.jwks_cache_seconds,
                min_refetch=settings.jwks_min_refetch_seconds,
                timeout=settings.jwks_fetch_timeout_seconds,
            )
            if settings.jwks_url
            else None
        )
        self._verified = VerifiedTokens(leeway=settings.jwt_leeway_seconds)

    async def aclose(self) -> None:
        if self._jwks is not None:
            await self._jwks.aclose()

    async def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            return known
        principal = await self._verify(token)
        self._verified.add(token, principal)
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed token") from exc
        alg = header.get("alg")
        if alg == "HS256" and self._secret:
            claims = self._decode(token, self._secret, ["HS256"])
        elif self._jwks is not None and alg in self._settings.jwt_algorithms:
            kid = header.get("kid")
            if kid is not None and not isinstance(kid, str):
                raise Unauthorized("malformed token")
            key = await self._jwks.key_for(kid)
            if key is None:
                raise Unauthorized("token signed by an unknown key")
            claims = self._decode(token, key, self._settings.jwt_algorithms)
        else:
            raise Unauthorized("token algorithm not accepted")
        return _principal(claims)

    def _decode(self, token: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
        s = self._settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=s.jwt_audience or None,
                issuer=s.jwt_issuer or None,
                leeway=s.jwt_leeway_seconds,
                options={
                    "require": _REQUIRED_CLAIMS + (["aud"] if s.jwt_audience else []),
                    "verify_aud": bool(s.jwt_audience),
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        return claims


def _principal(claims: dict[str, Any]) -> Principal:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > USER_ID_MAX or not is_storable(sub):
        raise Unauthorized("token `sub` must be a non-empty string of at most 255 characters")
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        raise Unauthorized("token `exp` must be a number")
    return Principal(
        user_id=sub,
        email=_optional_text(claims.get("email")),
        name=_optional_text(claims.get("name")),
        expires_at=float(exp),
    )


def _optional_text(value: Any) -> str | None:
    if isinstance(value, str) and is_storable(value):
        return value[:1000]
    return None


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer …` header value."""
    if not authorization:
        raise Unauthorized("missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected `Authorization: Bearer <token>`")
    return token.strip()


def mint_dev_token(settings: Settings, user_id: str, ttl_seconds: int = 24 * 3600) -> str:
    """A development token for `user_id`, signed with the HS256 secret in force."""
    secret = settings.hs256_secret()
    if not secret:
        raise RuntimeError("no HS256 secret: set BETTER_AUTH_SECRET or run in development mode")
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "name": user_id, "iat": now, "exp": now + ttl_seconds}
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, secret, algorithm="HS256")
