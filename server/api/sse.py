"""`GET /api/events`: the same events as the socket, as server-sent events."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from server.api.caller import authenticate
from server.api.services import parse_since, services, too_many_streams
from server.api.waiting import next_or_stop
from server.errors import BadRequest
from server.limits.ratelimit import Budget
from server.realtime.hub import Resync, StreamLost, StreamOverflow
from server.runtime.metrics import Metrics


async def sse_endpoint(request: Request) -> StreamingResponse:
    user = await authenticate(request, Budget.STREAMS)
    raw = request.headers.get("last-event-id") or request.query_params.get("since")
    try:
        since = parse_since(raw)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    svc = services(request)
    cap = svc.settings.max_streams_per_user
    if svc.streams.full(user.user_id, cap):
        raise too_many_streams()
    assert svc.hub is not None
    hub, keepalive = svc.hub, svc.settings.sse_keepalive_seconds
    leeway = svc.settings.jwt_leeway_seconds
    metrics: Metrics = request.app.state.metrics
    delivered, resyncs = metrics.events_delivered.labels("sse"), metrics.resyncs_sent.labels("sse")

    async def body() -> AsyncIterator[str]:
        # Counted while the body runs: a response that never starts holds nothing.
        if not svc.streams.try_add(user.user_id, cap):
            return  # another stream took the last place since the check above
        try:
            async for chunk in frames():
                yield chunk
        finally:
            svc.streams.remove(user.user_id)

    async def frames() -> AsyncIterator[str]:
        async with hub.open_stream(user.user_id, since, "sse") as stream:
            hello = {"type": "hello", "seq": stream.hello_seq, "user_id": user.user_id}
            yield f"event: hello\ndata: {json.dumps(hello)}\n\n"
            while True:
                # The stream ends with the token: the client reconnects with a fresh one
                # and Last-Event-ID, exactly as after any other drop.
                # (Verification accepted the token up to `leeway` past `exp`; so do we.)
                remaining = user.expires_at + leeway - time.time()
                if remaining <= 0 or svc.draining.is_set():
                    return
                try:
                    item = await next_or_stop(stream, min(keepalive, remaining), [svc.draining.wait()])
                except StreamOverflow:
                    metrics.slow_consumer_closes.inc()
                    return
                except StreamLost:
                    return  # the client resumes with Last-Event-ID through another server
                if item is None:
                    if not svc.draining.is_set():
                        yield ": keep-alive\n\n"
                    continue
                if isinstance(item, Resync):
                    resyncs.inc()
                    data = json.dumps({"type": "resync", "seq": item.seq})
                    yield f"event: resync\ndata: {data}\n\n"
                    continue
                seq, event = item
                kind = json.loads(event)["type"]
                yield f"id: {seq}\nevent: {kind}\ndata: {event}\n\n"
                delivered.inc()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
