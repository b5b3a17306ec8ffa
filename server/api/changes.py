"""`GET /api/changes`: the change log as a pollable page, with optional long-polling."""

from __future__ import annotations

from contextlib import suppress

from starlette.requests import Request
from starlette.responses import Response

from server.api.caller import authenticate
from server.api.services import parse_since, services, too_many_streams
from server.api.waiting import disconnected, next_or_stop
from server.errors import BadRequest, ValidationFailed, field_error
from server.limits.inflight import give_back
from server.limits.ratelimit import Budget
from server.realtime.hub import StreamLost, StreamOverflow
from server.realtime.log import event_bodies_within, log_window

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _bounded_int(raw: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if raw is None:
        return default
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        value = int(raw)
        if value >= low and (high is None or value <= high):
            return value
    bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
    raise ValidationFailed(f"invalid {name}", [field_error("query", name, f"must be an integer {bound}")])


async def changes_endpoint(request: Request) -> Response:
    user = await authenticate(request, Budget.READS)
    svc = services(request)
    params = request.query_params
    try:
        since = parse_since(params.get("since")) or 0
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    limit = _bounded_int(params.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    # `wait` above the cap is not an error: it is simply capped.
    wait = min(_bounded_int(params.get("wait"), "wait", 0, 0, None), svc.settings.longpoll_max_wait_seconds)

    page = await _page(request, user.user_id, since, limit)
    if page is None and wait > 0:
        # A poll spends a read and never the stream-open budget: a poller following a
        # busy user re-polls after every event, and would otherwise spend the budget the
        # same user's socket and SSE reconnects need. It still holds a stream while
        # parked, so the per-user cap on open streams bounds what it can hold.
        give_back(request.scope["state"])  # it waits for events, holding no connection
        if not svc.streams.try_add(user.user_id, svc.settings.max_streams_per_user):
            raise too_many_streams()
        assert svc.hub is not None
        try:
            async with svc.hub.open_stream(user.user_id, since, "poll") as stream:
                # An abandoned poll, or a server shutting down, stops waiting at once.
                with suppress(StreamOverflow, StreamLost):
                    await next_or_stop(stream, wait, [svc.draining.wait(), disconnected(request)])
        finally:
            svc.streams.remove(user.user_id)
        page = await _page(request, user.user_id, since, limit)
    if page is None:
        page = await _empty(request, user.user_id)
    return Response(page, media_type="application/json")


async def _page(request: Request, user_id: str, since: int, limit: int) -> bytes | None:
    """The response body, or None when there is nothing after `since` yet."""
    async with services(request).db.snapshot() as conn:
        window = await log_window(conn, user_id)
        if not window.can_resume(since):
            return b'{"events":[],"seq":%d,"resync":true}' % window.head
        max_bytes = services(request).settings.max_page_bytes
        bodies = await event_bodies_within(conn, user_id, since, limit=limit, max_bytes=max_bytes)
    if not bodies:
        return None
    # The bodies are stored as the exact JSON every transport sends: no re-encoding.
    return b'{"events":[' + b",".join(bodies) + b'],"seq":%d,"resync":false}' % window.head


async def _empty(request: Request, user_id: str) -> bytes:
    async with services(request).db.snapshot() as conn:
        window = await log_window(conn, user_id)
    return b'{"events":[],"seq":%d,"resync":false}' % window.head
