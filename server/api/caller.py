"""Who is calling: the verified token's user, counted against a budget and its
requests in flight, with its user row made on first sight. A refused credential is
answered late (`server.limits.refusals`)."""

from __future__ import annotations

import ipaddress

from starlette.requests import HTTPConnection

from server.api.fields import header_field
from server.api.headers import RATE_LIMIT_STATE
from server.api.services import Services, services
from server.auth.tokens import Principal, bearer_token
from server.errors import (
    TasksyncError,
    TooManyRequests,
    Unauthorized,
)
from server.limits.inflight import IN_FLIGHT_STATE, give_back
from server.limits.ratelimit import Budget
from server.users import ensure_user


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
        principal = await svc.verifier.verify(bearer_token(header_field(conn, b"authorization")))
    except Unauthorized as refused:
        await hold_refusal(conn, svc, refused)
        raise
    # The ASGI scope's state, which `conn.state` wraps (without building that wrapper).
    state = conn.scope.setdefault("state", {})
    state["user_id"] = principal.user_id  # for the request's log line
    # The user's places first: its burst waits here, before any work on it — the
    # budget's count included (see server.limits.inflight).
    state[IN_FLIGHT_STATE] = await svc.in_flight.enter(
        principal.user_id, request=budget is not Budget.STREAMS
    )
    await spend(conn, svc, budget, principal.user_id)
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
    state = conn.scope.setdefault("state", {})
    # A refusal is held back holding none of the user's places.
    verdict = await svc.limiter.check(budget, user_id, before_hold=lambda: give_back(state))
    if not verdict.allowed:
        raise TooManyRequests(
            f"over the {budget.value} limit of {verdict.quota} per {verdict.window_seconds} s; "
            f"retry in {verdict.reset_seconds} s",
            headers=verdict.headers(),
        )
    fields: dict[str, str] | None = state.get(RATE_LIMIT_STATE)
    if fields is None:
        state[RATE_LIMIT_STATE] = verdict.headers()
        return
    for name, value in verdict.headers().items():
        # Both fields are lists: a request that spent two budgets reports both.
        fields[name] = f"{fields[name]}, {value}" if name in fields else value
