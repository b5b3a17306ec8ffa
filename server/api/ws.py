"""`GET /api/ws`: the per-user live socket, as the contract's WebSocket section says.

After authentication the connection's own coroutine receives (ping, auth refresh,
errors) and one task sends (hello, replay, live events); a timer (token expiry) and the
stream's overflow callback (a client that fell behind) end the session with their code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server.api.deps import Services, parse_since, services, signed_in
from server.auth import Principal, bearer_token
from server.errors import CloseCode, TasksyncError, TooManyRequests, problem_response
from server.metrics import Metrics
from server.ratelimit import Budget
from server.realtime.hub import Resync, Stream, StreamLost, StreamOverflow

log = logging.getLogger(__name__)

_TOO_SLOW = "too slow; reconnect with since"
_LOST = "this server lost its database; reconnect with since"
# When the sockets still authenticating are at their cap, come back after about one
# auth deadline: by then those have authenticated or been closed.
_PENDING_RETRY_SECONDS = 5


class Closed(Exception):
    """End the socket with this close code."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _origin_allowed(ws: WebSocket, svc: Services) -> bool:
    origin = ws.headers.get("origin")
    if origin is None or origin in svc.settings.cors_origins:
        return True
    # Pages this server serves itself (the demo at /) are same-origin. A page elsewhere
    # cannot pass this: the browser sets Origin to its own site, not to our Host.
    scheme = "https" if ws.url.scheme == "wss" else "http"
    return origin == f"{scheme}://{ws.headers.get('host', '')}"


async def _receive_text(ws: WebSocket, max_bytes: int) -> str:
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("bytes") is not None:
        raise Closed(CloseCode.UNSUPPORTED_DATA, "binary frames are not accepted")
    text: str = message.get("text") or ""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise Closed(CloseCode.MESSAGE_TOO_BIG, "message too big")
    return text


async def _verify(svc: Services, token: Any) -> Principal:
    if not isinstance(token, str) or not token:
        raise Closed(CloseCode.NOT_AUTHENTICATED, "token missing")
    try:
        return await signed_in(await svc.verifier.verify(token), svc)
    except TasksyncError as exc:
        raise Closed(CloseCode.NOT_AUTHENTICATED, exc.detail[:120]) from None


async def _header_principal(ws: WebSocket, svc: Services) -> Principal | Closed | None:
    """The caller named by an `Authorization` header (non-browser clients), verified
    before the handshake is answered so that a rate-limited caller gets its 429 there;
    a refusal is kept to be sent as 4401 once the socket is open. `None`: no header."""
    header = ws.headers.get("authorization")
    if not header:
        return None
    try:
        return await _verify(svc, bearer_token(header))
    except TasksyncError as exc:
        return Closed(CloseCode.NOT_AUTHENTICATED, exc.detail)
    except Closed as closed:
        return closed


async def _first_message_principal(ws: WebSocket, svc: Services) -> Principal:
    deadline = svc.settings.ws_auth_timeout_seconds
    try:
        text = await asyncio.wait_for(_receive_text(ws, svc.settings.ws_max_message_bytes), timeout=deadline)
    except TimeoutError:
        raise Closed(CloseCode.NOT_AUTHENTICATED, "no auth message in time") from None
    try:
        message = json.loads(text)
    except ValueError:
        raise Closed(CloseCode.NOT_AUTHENTICATED, "first message must be auth") from None
    if not isinstance(message, dict) or message.get("type") != "auth":
        raise Closed(CloseCode.NOT_AUTHENTICATED, "first message must be auth")
    principal = await _verify(svc, message.get("token"))
    verdict = await svc.limiter.check(Budget.STREAMS, principal.user_id)
    if not verdict.allowed:
        raise Closed(CloseCode.TOO_MANY_SOCKETS, f"too many stream opens; retry in {verdict.reset_seconds} s")
    return principal


async def _refuse_handshake(ws: WebSocket, retry_after: int, headers: dict[str, str]) -> None:
    """Answer the handshake with a 429 problem (the ASGI denial-response extension);
    where the server lacks it, open the socket and close it with 4429 instead."""
    error = TooManyRequests(f"too many sockets opened; retry in {retry_after} s", headers=headers)
    try:
        await ws.send_denial_response(problem_response(error))
    except RuntimeError:
        await ws.accept()
        await _close(ws, CloseCode.TOO_MANY_SOCKETS, error.detail)


async def ws_endpoint(ws: WebSocket) -> None:
    svc = services(ws)
    if not _origin_allowed(ws, svc):
        # Refused at the handshake: uvicorn answers an HTTP 403.
        await ws.close(CloseCode.ORIGIN_REFUSED)
        return
    from_header = await _header_principal(ws, svc)
    if isinstance(from_header, Principal):
        verdict = await svc.limiter.check(Budget.STREAMS, from_header.user_id)
        if not verdict.allowed:
            await _refuse_handshake(ws, verdict.reset_seconds, verdict.headers())
            return
    address = ws.client.host if ws.client else ""
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
        await ws.accept()
        try:
            since = parse_since(ws.query_params.get("since"))
        except ValueError as exc:
            raise Closed(CloseCode.POLICY_VIOLATION, str(exc)) from None
        if isinstance(from_header, Closed):
            raise from_header
        if from_header is None:
            principal = await _first_message_principal(ws, svc)
            unauthenticated = False
            svc.unauthenticated.remove(address)
        else:
            principal = from_header
        user_id = principal.user_id
        log.info("websocket open", extra=_log_fields(ws, user_id, since=since))
        await _serve(ws, svc, principal, since)
    except Closed as closed:
        code = closed.code
        if code == CloseCode.TOO_SLOW:
            metrics.slow_consumer_closes.inc()
        await _close(ws, closed.code, closed.reason)
    except WebSocketDisconnect as gone:
        code = gone.code
    except Exception:
        code = 1011
        log.exception("websocket session failed", extra=_log_fields(ws, user_id))
        await _close(ws, 1011, "internal error")
    finally:
        if unauthenticated:
            svc.unauthenticated.remove(address)
        duration_ms = round((time.monotonic() - started) * 1000)
        log.info("websocket closed", extra=_log_fields(ws, user_id, close_code=code, duration_ms=duration_ms))


def _log_fields(ws: WebSocket, user_id: str | None, **more: Any) -> dict[str, Any]:
    return {"request_id": ws.scope.get("state", {}).get("request_id"), "user_id": user_id, **more}


async def _close(ws: WebSocket, code: int, reason: str = "") -> None:
    if ws.application_state == WebSocketState.CONNECTED:
        try:
            await ws.close(code, reason[:120])
        except (RuntimeError, OSError):
            pass  # the client is already gone


async def _serve(ws: WebSocket, svc: Services, principal: Principal, since: int | None) -> None:
    counts = svc.streams
    if not counts.try_add(principal.user_id, svc.settings.ws_max_sockets_per_user):
        raise Closed(CloseCode.TOO_MANY_SOCKETS, "too many open streams for this user")
    metrics: Metrics = ws.app.state.metrics
    metrics.open_sockets.inc()
    try:
        assert svc.hub is not None
        async with svc.hub.open_stream(principal.user_id, since, "ws") as stream:
            session = _Session(ws, svc, principal, stream, metrics)
            await session.run()
    finally:
        metrics.open_sockets.dec()
        counts.remove(principal.user_id)


class _Session:
    """One authenticated socket: the connection's own coroutine receives, one task sends,
    and a timer and the stream's overflow callback end it. Kept this lean on purpose:
    a process holds ten thousand idle sessions."""

    def __init__(
        self, ws: WebSocket, svc: Services, principal: Principal, stream: Stream, metrics: Metrics
    ) -> None:
        self.ws = ws
        self.delivered = metrics.events_delivered.labels("ws")
        self.resyncs = metrics.resyncs_sent.labels("ws")
        self.svc = svc
        self.principal = principal
        self.stream = stream
        self.expires_at = principal.expires_at
        self._ending: BaseException | None = None
        self._receiver: asyncio.Task[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def _end(self, reason: BaseException) -> None:
        """Stop the session from a callback: the receiver is cancelled and `run` raises `reason`."""
        if self._ending is None and self._receiver is not None:
            self._ending = reason
            self._receiver.cancel()

    def _check_expiry(self) -> None:
        # Verification accepted the token up to `leeway` past `exp`; the socket too. A
        # refresh moves `expires_at` on: the timer then simply re-arms itself.
        remaining = self.expires_at + self.svc.settings.jwt_leeway_seconds - time.time()
        if remaining <= 0:
            self._end(Closed(CloseCode.NOT_AUTHENTICATED, "token expired"))
        else:
            self._timer = asyncio.get_running_loop().call_later(remaining, self._check_expiry)

    def _sender_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            self._end(task.exception() or Closed(1011, "sender stopped"))

    async def run(self) -> None:
        self._receiver = asyncio.current_task()
        # A client that stopped reading leaves the sender stuck in a write; this is not.
        self.stream.on_overflow = lambda: self._end(Closed(CloseCode.TOO_SLOW, _TOO_SLOW))
        self._check_expiry()
        sender = asyncio.create_task(self._send())
        sender.add_done_callback(self._sender_done)
        try:
            await self._receive()
        except asyncio.CancelledError:
            if self._ending is None or self._receiver is None:
                raise  # cancelled from outside (shutdown): let it through
            self._receiver.uncancel()
            raise self._ending from None
        finally:
            if self._timer is not None:
                self._timer.cancel()
            sender.remove_done_callback(self._sender_done)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def _send(self) -> None:
        await self.ws.send_text(
            json.dumps({"type": "hello", "seq": self.stream.hello_seq, "user_id": self.principal.user_id})
        )
        try:
            while True:
                item = await self.stream.next()
                if isinstance(item, Resync):
                    self.resyncs.inc()
                    await self.ws.send_text(json.dumps({"type": "resync", "seq": item.seq}))
                else:
                    await self.ws.send_text(item[1])
                    self.delivered.inc()
        except StreamOverflow:
            raise Closed(CloseCode.TOO_SLOW, _TOO_SLOW) from None
        except StreamLost:
            raise Closed(CloseCode.SERVICE_RESTART, _LOST) from None

    async def _receive(self) -> None:
        limit = self.svc.settings.ws_max_message_bytes
        while True:
            text = await _receive_text(self.ws, limit)
            try:
                message = json.loads(text)
            except (ValueError, RecursionError):
                await self._error("invalid_json", "the message is not valid JSON")
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "ping":
                await self.ws.send_text('{"type":"pong"}')
            elif kind == "auth":
                await self._refresh(message.get("token"))
            else:
                await self._error("unknown_type", "expected a message of type ping or auth")

    async def _refresh(self, token: Any) -> None:
        try:
            fresh = await _verify(self.svc, token)
        except Closed:
            await self._error("auth_failed", "the token was not accepted; the old one still holds")
            return
        if fresh.user_id != self.principal.user_id:
            raise Closed(CloseCode.NOT_AUTHENTICATED, "a refreshed token must have the same sub")
        self.expires_at = fresh.expires_at

    async def _error(self, code: str, detail: str) -> None:
        await self.ws.send_text(json.dumps({"type": "error", "code": code, "detail": detail}))
