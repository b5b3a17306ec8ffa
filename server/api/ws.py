"""`GET /api/ws`: the per-user live socket, as the contract's WebSocket section says.

This module takes a connection up to an authenticated session: origin, the token (from
the header or a first message), the rate limits and caps, the open/close log lines;
the session itself (hello, replay, live events, ping, refresh) is `ws_session.Session`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.api.caller import client_network, hold_refusal
from server.api.services import Services, parse_since, services
from server.api.ws_session import Closed, Session, receive_text, verify
from server.auth.tokens import Principal, bearer_token
from server.errors import CloseCode, TasksyncError, TooManyRequests, Unauthorized, problem_response
from server.limits.inflight import Place
from server.limits.openings import Openings
from server.limits.ratelimit import Budget
from server.runtime.metrics import Metrics

log = logging.getLogger(__name__)
# When the sockets still authenticating are at their cap, come back after about one
# auth deadline: by then those have authenticated or been closed.
_PENDING_RETRY_SECONDS = 5


def _origin_allowed(ws: WebSocket, svc: Services) -> bool:
    origin = ws.headers.get("origin")
    if origin is None or origin in svc.settings.cors_origins:
        return True
    # Pages this server serves itself (the demo at /) are same-origin. A page elsewhere
    # cannot pass this: the browser sets Origin to its own site, not to our Host.
    scheme = "https" if ws.url.scheme == "wss" else "http"
    return origin == f"{scheme}://{ws.headers.get('host', '')}"


async def _header_principal(ws: WebSocket, svc: Services) -> Principal | Closed | None:
    """The caller named by an `Authorization` header (non-browser clients), verified
    before the handshake is answered so that a rate-limited caller gets its 429 there;
    a refusal is kept to be sent as 4401 once the socket is open. `None`: no header."""
    header = ws.headers.get("authorization")
    if not header:
        return None
    try:
        token = bearer_token(header)
    except Unauthorized as exc:
        await hold_refusal(ws, svc, exc)
        return Closed.of(exc)
    try:
        return await verify(ws, svc, token)
    except Closed as closed:
        return closed


async def _first_message_principal(ws: WebSocket, svc: Services, opening: _Opening) -> Principal:
    deadline = svc.settings.ws_auth_timeout_seconds
    # Waiting for the message costs nothing (the unauthenticated caps bound how many
    # wait); only the work on either side of it counts among the sockets opening.
    opening.pause()
    try:
        text = await asyncio.wait_for(receive_text(ws, svc.settings.ws_max_message_bytes), timeout=deadline)
    except TimeoutError:
        raise Closed(CloseCode.NOT_AUTHENTICATED, "no auth message in time") from None
    opening.resume()
    try:
        message = json.loads(text)
    except ValueError:
        raise Closed(CloseCode.NOT_AUTHENTICATED, "first message must be auth") from None
    if not isinstance(message, dict) or message.get("type") != "auth":
        raise Closed(CloseCode.NOT_AUTHENTICATED, "first message must be auth")
    principal = await verify(ws, svc, message.get("token"))
    await opening.work_for(svc, principal.user_id)
    verdict = await svc.limiter.check(Budget.STREAMS, principal.user_id, opening.stop_working)
    if not verdict.allowed:
        raise Closed(CloseCode.TOO_MANY_SOCKETS, f"too many stream opens; retry in {verdict.reset_seconds} s")
    return principal


async def _refuse_handshake(
    ws: WebSocket, retry_after: int, headers: dict[str, str], why: str = "too many sockets opened"
) -> None:
    """Answer the handshake with a 429 problem (the ASGI denial-response extension);
    where the server lacks it, open the socket and close it with 4429 instead."""
    error = TooManyRequests(f"{why}; retry in {retry_after} s", headers=headers)
    try:
        await ws.send_denial_response(problem_response(error))
    except RuntimeError:
        await ws.accept()
        await _close(ws, error.close_code, error.detail)


class SocketEndpoint:
    """`GET /api/ws` as a plain ASGI app. Starlette runs a function endpoint inside two
    more coroutines (its session and exception wrappers), each suspended for as long as
    the socket is open: memory per idle socket. This one catches its own errors."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ws = WebSocket(scope, receive=receive, send=send)
        svc = services(ws)
        if not _origin_allowed(ws, svc):
            # Refused at the handshake: uvicorn answers an HTTP 403.
            await ws.close(CloseCode.ORIGIN_REFUSED)
            return
        # Before any work on it: a host's worth of sockets reconnecting at once is let in
        # at the rate this process can open them (see server.limits.openings).
        if not svc.openings.try_enter():
            ws.app.state.metrics.openings_refused.inc()
            wait = svc.openings.retry_after()
            await _refuse_handshake(ws, wait, {"Retry-After": str(wait)}, "many sockets are opening")
            return
        opening = _Opening(svc.openings)
        try:
            await self._open(ws, send, svc, opening)
        finally:
            opening.done()

    async def _open(self, ws: WebSocket, send: Send, svc: Services, opening: _Opening) -> None:
        from_header = await _header_principal(ws, svc)
        if isinstance(from_header, Principal):
            await opening.work_for(svc, from_header.user_id)
            verdict = await svc.limiter.check(Budget.STREAMS, from_header.user_id, opening.stop_working)
            if not verdict.allowed:
                await _refuse_handshake(ws, verdict.reset_seconds, verdict.headers())
                return
        address = client_network(ws.client.host) if ws.client else ""
        # A socket with no Authorization header counts as unauthenticated until its first
        # message has authenticated it (or it ends).
        unauthenticated = from_header is None
        if unauthenticated and not svc.unauthenticated.try_add(
            address, svc.settings.ws_max_unauthenticated_per_address, svc.settings.ws_max_unauthenticated
        ):
            await _refuse_handshake(ws, _PENDING_RETRY_SECONDS, {"Retry-After": str(_PENDING_RETRY_SECONDS)})
            return
        metrics: Metrics = ws.app.state.metrics
        started, code, user_id = time.monotonic(), 1000, None
        try:
            try:
                await ws.accept()
            except OSError:
                # The client left before its handshake was answered (uvicorn's
                # ClientDisconnected): a client that gave up waiting, not a fault here.
                code = 1006
                return
            try:
                since = parse_since(ws.query_params.get("since"))
            except ValueError as exc:
                raise Closed(CloseCode.POLICY_VIOLATION, str(exc)) from None
            if isinstance(from_header, Closed):
                raise from_header
            if from_header is None:
                principal = await _first_message_principal(ws, svc, opening)
                unauthenticated = False
                svc.unauthenticated.remove(address)
            else:
                principal = from_header
            user_id = principal.user_id
            _log_open(ws, user_id, since)
            await _serve(ws, send, svc, principal, since, opening)
        except Closed as closed:
            code = closed.code
            if code == CloseCode.TOO_SLOW:
                metrics.slow_consumer_closes.inc()
            await _close(ws, closed.code, closed.reason)
        except WebSocketDisconnect as gone:
            code = gone.code
        except TasksyncError as error:
            # An error the client can be told about (the database out: 1012, reconnect).
            code = error.close_code
            await _close(ws, code, error.detail)
        except Exception:
            code = CloseCode.INTERNAL_ERROR
            log.exception("websocket session failed", extra=_log_fields(ws, user_id))
            await _close(ws, code, "internal error")
        finally:
            if unauthenticated:
                svc.unauthenticated.remove(address)
            duration_ms = round((time.monotonic() - started) * 1000)
            log.info(
                "websocket closed", extra=_log_fields(ws, user_id, close_code=code, duration_ms=duration_ms)
            )


def _log_open(ws: WebSocket, user_id: str, since: int | None) -> None:
    # Not logged in the connection's own frame: logging looks up its caller's frame,
    # and the frame object that makes lives as long as the frame (the whole socket).
    log.info("websocket open", extra=_log_fields(ws, user_id, since=since))


def _log_fields(ws: WebSocket, user_id: str | None, **more: Any) -> dict[str, Any]:
    return {"request_id": ws.scope.get("state", {}).get("request_id"), "user_id": user_id, **more}


async def _close(ws: WebSocket, code: int, reason: str = "") -> None:
    if ws.application_state == WebSocketState.CONNECTED:
        try:
            await ws.close(code, reason[:120])
        except (RuntimeError, OSError, WebSocketDisconnect):
            pass  # the client is already gone


class _Opening:
    """This socket's place among those being opened: given back while it waits for its
    auth message, and for good once it is caught up. Once its user is known, also one
    of that user's places at work (server.limits.inflight), until caught up: one user's
    reconnecting sockets open a few at a time, not all at once over everyone."""

    __slots__ = ("_held", "_openings", "_place")

    def __init__(self, openings: Openings) -> None:
        self._openings: Openings | None = openings  # None once done
        self._held = True
        self._place: Place | None = None

    async def work_for(self, svc: Services, user_id: str) -> None:
        # Waiting for the user's place is no work either: many sockets of one user
        # reconnecting at once must not fill the openings bound while they queue.
        self.pause()
        try:
            self._place = await svc.in_flight.enter(user_id, request=False)
        finally:
            self.resume()

    def stop_working(self) -> None:
        if self._place is not None:
            self._place.leave()
            self._place = None

    def pause(self) -> None:
        if self._openings is not None and self._held:
            self._openings.leave()
            self._held = False

    def resume(self) -> None:
        # Past the bound if need be: the socket is open already, and closing it now
        # would waste the work done on it; the count makes the next handshakes wait.
        if self._openings is not None and not self._held:
            self._openings.enter()
            self._held = True

    def done(self) -> None:
        self.pause()
        self.stop_working()
        self._openings = None


async def _serve(
    ws: WebSocket, send: Send, svc: Services, principal: Principal, since: int | None, opening: _Opening
) -> None:
    counts = svc.streams
    if not counts.try_add(principal.user_id, svc.settings.max_streams_per_user):
        raise Closed(CloseCode.TOO_MANY_SOCKETS, "too many open streams for this user")
    metrics: Metrics = ws.app.state.metrics
    metrics.open_sockets.inc()
    try:
        assert svc.hub is not None
        async with svc.hub.open_stream(principal.user_id, since, "ws") as stream:
            opening.done()  # caught up from `since`: what is left is the hello and the session
            await Session(ws, send, svc, principal, stream, metrics, svc.hub.expiry).run()
    finally:
        metrics.open_sockets.dec()
        counts.remove(principal.user_id)


ws_endpoint = SocketEndpoint()
