"""What handlers need from a request: the app's services, the verified user, a parsed
JSON body, and the validated write headers. Everything that can fail here raises a
`TasksyncError`, rendered once by the app's error handler.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection, Request

from server.api.headers import RATE_LIMIT_STATE
from server.auth.tokens import Principal, TokenVerifier, bearer_token
from server.db.database import Database
from server.errors import (
    BadRequest,
    PayloadTooLarge,
    RequestTimeout,
    TasksyncError,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from server.limits.inflight import IN_FLIGHT_STATE, InFlight
from server.limits.ratelimit import Budget, RateLimiter
from server.limits.refusals import RefusalHold
from server.settings import Settings
from server.users import ensure_user

if TYPE_CHECKING:
    from server.realtime.hub import Hub

JSON_TYPES = frozenset({"application/json"})
MERGE_PATCH_TYPES = frozenset({"application/json", "application/merge-patch+json"})
JSON_PATCH_TYPE = "application/json-patch+json"
PATCH_TYPES = MERGE_PATCH_TYPES | {JSON_PATCH_TYPE}

# Header bounds of the contract.
CLIENT_ID_MAX = 64
IDEMPOTENCY_KEY_MAX = 255
IF_MATCH_MAX = 1024


class SeenUsers:
    """Users this process has already created rows for, so first sight costs one upsert
    per process rather than one per request. Bounded, least recently seen go first."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()

    def fresh(self, principal: Principal) -> bool:
        profile = (principal.email, principal.name)
        if self._seen.get(principal.user_id) == profile:
            self._seen.move_to_end(principal.user_id)
            return False
        return True

    def add(self, principal: Principal) -> None:
        self._seen[principal.user_id] = (principal.email, principal.name)
        self._seen.move_to_end(principal.user_id)
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)


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


def client_network(host: str) -> str:
    """What the per-address caps count by: an IPv4 address as it is, an IPv6 one by its
    /64 (one subscriber's network hands out addresses from a whole /64, so counting
    each address apart would let one client fill a cap alone)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


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
    # Sockets accepted but not yet authenticated (first-message auth), per client address.
    unauthenticated: StreamCounts = field(default_factory=lambda: StreamCounts())
    # Each user's requests at work at once (see server.limits.inflight).
    in_flight: InFlight = field(default_factory=lambda: InFlight(1_000_000))
    # Refused credentials, answered late (see server.limits.refusals).
    refusals: RefusalHold = field(default_factory=lambda: RefusalHold(0, 1))
    # Set when the server starts shutting down (see server.runtime.lifecycle).
    draining: asyncio.Event = field(default_factory=asyncio.Event)
    hub: Hub | None = None


def services(conn: HTTPConnection) -> Services:
    found: Services = conn.app.state.services
    return found


async def signed_in(principal: Principal, svc: Services) -> Principal:
    """Record a verified caller's user row on first sight."""
    if svc.seen_users.fresh(principal):
        async with svc.db.transaction() as tx:
            await ensure_user(tx.conn, principal.user_id, principal.email, principal.name)
        svc.seen_users.add(principal)
    return principal


async def authenticate(conn: HTTPConnection, budget: Budget) -> Principal:
    """The verified caller, counted against its `budget` (429 when over it)."""
    svc = services(conn)
    try:
        principal = await svc.verifier.verify(bearer_token(conn.headers.get("authorization")))
    except Unauthorized as refused:
        await hold_refusal(conn, svc, refused)
        raise
    conn.state.user_id = principal.user_id  # for the request's log line
    await spend(conn, svc, budget, principal.user_id)
    if budget is not Budget.STREAMS:
        conn.scope["state"][IN_FLIGHT_STATE] = await svc.in_flight.enter(principal.user_id)
    return await signed_in(principal, svc)


async def hold_refusal(conn: HTTPConnection, svc: Services, refused: TasksyncError) -> None:
    """Answer a refused credential late (see server.limits.refusals); past the per-network
    bound, at once and closing the connection."""
    network = client_network(conn.client.host) if conn.client else ""
    if not await svc.refusals.hold(network):
        refused.headers["Connection"] = "close"


async def spend(conn: HTTPConnection, svc: Services, budget: Budget, user_id: str) -> None:
    """Count one request of the user against `budget`; over it → `TooManyRequests`.
    Within it, the `RateLimit` header fields go on the response (see `RATE_LIMIT_STATE`)."""
    verdict = await svc.limiter.check(budget, user_id)
    if not verdict.allowed:
        raise TooManyRequests(
            f"over the {budget.value} limit of {verdict.quota} per {verdict.window_seconds} s; "
            f"retry in {verdict.reset_seconds} s",
            headers=verdict.headers(),
        )
    state = conn.scope.setdefault("state", {})
    fields: dict[str, str] = state.setdefault(RATE_LIMIT_STATE, {})
    for name, value in verdict.headers().items():
        # Both fields are lists: a request that spent two budgets reports both.
        fields[name] = f"{fields[name]}, {value}" if name in fields else value


# When a user's streams are at their cap, a new one may fit once one of them ends.
STREAM_CAP_RETRY_SECONDS = 5


def too_many_streams() -> TooManyRequests:
    return TooManyRequests(
        "too many open streams for this user (sockets, SSE and long-polls together)",
        headers={"Retry-After": str(STREAM_CAP_RETRY_SECONDS)},
    )


def media_type(request: Request) -> str:
    """The request's `Content-Type` without its parameters, lower-case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_json_object(request: Request, accepted: frozenset[str]) -> dict[str, Any]:
    """The request body as a JSON object, with the contract's 400/413/415/422 errors."""
    body = await read_json(request, accepted)
    if not isinstance(body, dict):
        raise ValidationFailed(
            "the body must be a JSON object", [field_error("body", "body", "expected an object")]
        )
    return body


async def read_json(request: Request, accepted: frozenset[str]) -> Any:
    """The request body as any JSON value, with the contract's 400/413/415 errors."""
    if media_type(request) not in accepted:
        raise UnsupportedMediaType(f"send the body as one of: {', '.join(sorted(accepted))}")
    settings = services(request).settings
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(settings.body_timeout_seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the body is over the {limit}-byte limit")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(
            f"the body did not arrive within {settings.body_timeout_seconds:g} s",
            # The rest of the body may still come: this connection cannot carry another request.
            headers={"Connection": "close"},
        ) from None
    try:
        body = json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, over-long integers
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    return body


def parse_since(raw: str | None) -> int | None:
    """`since` as a non-negative integer; anything else is a client error."""
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValueError("since must be a non-negative integer")
    return int(raw)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _as_text(value: str) -> str:
    # Starlette reads field values as Latin-1 (RFC 9110's obs-text), but clients send
    # UTF-8: read that way a key of 200 "é" would be 400 characters long and be stored
    # mangled. Bytes that are not UTF-8 keep their Latin-1 reading.
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _bounded_header(request: Request, name: str, limit: int) -> str | None:
    """A header's text value, 1 to `limit` characters (not bytes), with no control characters."""
    value = request.headers.get(name)
    if value is None:
        return None
    if not value.isascii():
        value = _as_text(value)
    if not value or len(value) > limit:
        raise ValidationFailed(
            f"the {name} header must be 1 to {limit} characters",
            [field_error("header", name, f"must be 1 to {limit} characters")],
        )
    # Control characters are not valid in a field value (RFC 9110 §5.5). Lenient HTTP
    # servers (and ASGI transports) pass them through, and a NUL in Idempotency-Key
    # would otherwise reach PostgreSQL text and fail there as a 500.
    if any((ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in value):
        raise ValidationFailed(
            f"the {name} header must not contain control characters",
            [field_error("header", name, "must not contain control characters")],
        )
    return value


def client_id(request: Request) -> str | None:
    """`X-Client-Id`: carried on the caused event as `origin`."""
    return _bounded_header(request, "X-Client-Id", CLIENT_ID_MAX)


def idempotency_key(request: Request) -> str | None:
    return _bounded_header(request, "Idempotency-Key", IDEMPOTENCY_KEY_MAX)


def if_none_match_any(request: Request) -> bool:
    """Whether the request sent `If-None-Match: *` (create only if absent). Entity tags
    there would mean "unless it is at this version", which no task write needs."""
    value = _bounded_header(request, "If-None-Match", IF_MATCH_MAX)
    if value is None:
        return False
    if value.strip() != "*":
        raise ValidationFailed(
            "If-None-Match takes only *",
            [field_error("header", "If-None-Match", "only * (create if absent) is supported")],
        )
    return True


def if_match(request: Request) -> list[str] | None:
    """The entity tags of `If-Match`; weak tags never match (RFC 9110 strong comparison)."""
    value = _bounded_header(request, "If-Match", IF_MATCH_MAX)
    if value is None:
        return None
    return [tag.strip() for tag in value.split(",") if tag.strip()]
