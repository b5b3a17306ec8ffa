"""One authenticated `GET /api/ws` socket, from its hello to its close.

A process holds tens of thousands of idle sockets, so an idle session is one coroutine
(the connection's own, waiting to receive) and an entry in the process's expiry sweep
(server/realtime/expiry.py), nothing else.
What the stream has for the client (the replay, then live events) is sent from the
stream's `on_ready`, in the task that offered it (for a live event, the user's feed
delivery task): a send that completes at once needs no task of its own, and only one
that waits (a paused transport: a slow client) or a read of the log gets one, which
ends once the stream is drained (server/runtime/eager.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Final

from starlette.types import Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.api.caller import hold_refusal, signed_in
from server.api.services import Services
from server.auth.tokens import Principal
from server.errors import CloseCode, TasksyncError, Unauthorized
from server.limits.token_bucket import TokenBucket
from server.realtime.expiry import ExpirySweep
from server.realtime.hub import Resync, Stream, StreamLost, StreamOverflow
from server.realtime.stream import NeedsRead
from server.runtime.eager import start_eagerly
from server.runtime.metrics import Metrics

_TOO_SLOW = "too slow; reconnect with since"
_LOST = "this server lost its database; reconnect with since"
# Looked up once: an enum member read through its class costs a tenth of a socket's send.
_READ_LOG: Final = NeedsRead.LOG


class Closed(Exception):
    """End the socket with this close code."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    @classmethod
    def of(cls, error: TasksyncError) -> Closed:
        """The close an error means on an open socket (its `close_code`; a close reason
        is at most 123 bytes)."""
        return cls(error.close_code, error.detail[:120])


async def receive_text(ws: WebSocket, max_bytes: int) -> str:
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("bytes") is not None:
        raise Closed(CloseCode.UNSUPPORTED_DATA, "binary frames are not accepted")
    text: str = message.get("text") or ""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise Closed(CloseCode.MESSAGE_TOO_BIG, "message too big")
    return text


async def verify(ws: WebSocket, svc: Services, token: Any) -> Principal:
    """The caller a token names, or `Closed` with 4401 (answered late, as a refused
    request is: see server.limits.refusals)."""
    try:
        if not isinstance(token, str) or not token:
            raise Unauthorized("token missing")
        return await signed_in(await svc.verifier.verify(token), svc)
    except Unauthorized as exc:
        await hold_refusal(ws, svc, exc)
        raise Closed.of(exc) from None
    except TasksyncError as exc:
        raise Closed.of(exc) from None


class Session:
    """The connection's own coroutine receives (ping, auth refresh, errors) in `run`;
    `_send` sends, started eagerly by the stream's `on_ready`; the expiry sweep and the
    stream's overflow callback end the session with their close code by cancelling the
    receive (`_end`)."""

    __slots__ = (
        "_asgi_send", "_budget", "_ending", "_expiry", "_expiry_second", "_receiver", "_sender", "delivered",
        "expires_at", "principal", "resyncs", "stream", "svc", "ws",
    )  # fmt: skip

    def __init__(
        self,
        ws: WebSocket,
        asgi_send: Send,
        svc: Services,
        principal: Principal,
        stream: Stream,
        metrics: Metrics,
        expiry: ExpirySweep,
    ) -> None:
        self.ws = ws
        # The connection's ASGI `send`, for event frames (see `_send`).
        self._asgi_send = asgi_send
        self.delivered = metrics.ws_delivered
        self.resyncs = metrics.resyncs_sent.labels("ws")
        self.svc = svc
        self.principal = principal
        self.stream = stream
        self.expires_at = principal.expires_at
        self._ending: BaseException | None = None
        self._receiver: asyncio.Task[Any] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._expiry = expiry
        self._expiry_second = 0  # where `_expiry` holds this session; 0: nowhere yet
        self._budget: TokenBucket | None = None

    def _end(self, reason: BaseException) -> None:
        """Stop the session from a callback: the receive is cancelled and `run` raises `reason`."""
        if self._ending is None and self._receiver is not None:
            self._ending = reason
            self._receiver.cancel()

    def check_expiry(self) -> None:
        """End the session if its token has expired, else file it with the sweep."""
        # Verification accepted the token up to `leeway` past `exp`; the socket too. A
        # refresh moves `expires_at` on: the sweep finds it unexpired and it files itself again.
        deadline = self.expires_at + self.svc.settings.jwt_leeway_seconds
        if deadline <= time.time():
            self._end(Closed(CloseCode.NOT_AUTHENTICATED, "token expired"))
        else:
            self._expiry_second = self._expiry.file(self, deadline)

    def _too_slow(self) -> None:
        # A client that stopped reading leaves the sender stuck in a write; this is not.
        self._end(Closed(CloseCode.TOO_SLOW, _TOO_SLOW))

    def _ready(self) -> None:
        if self._sender is None and self._ending is None:
            # Nothing `_send` does before its first suspension calls back into `_ready`
            # (a send only writes to the transport), so `_sender` being None meanwhile
            # starts no second sender.
            self._sender = start_eagerly(self._send(), name="ws-send")

    async def run(self) -> None:
        self._receiver = asyncio.current_task()
        self.stream.on_overflow = self._too_slow
        self.check_expiry()
        hello = {"type": "hello", "seq": self.stream.hello_seq, "user_id": self.principal.user_id}
        try:
            # Always the first frame: only now may the sender start (what was offered
            # meanwhile waits in the stream).
            await self.ws.send_text(json.dumps(hello))
            self.stream.on_ready = self._ready
            self._ready()  # the replay, if any
            await self._receive()
        except asyncio.CancelledError:
            if self._ending is None or self._receiver is None:
                raise  # cancelled from outside (shutdown): let it through
            self._receiver.uncancel()
            raise self._ending from None
        finally:
            self.stream.on_ready = None
            self._expiry.remove(self, self._expiry_second)
            sender = self._sender
            if sender is not None:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)

    async def _send(self) -> None:
        """Send what the stream has, then end: the next `on_ready` starts another. What
        stops it ends the session. It runs eagerly, in the task that offered the event,
        up to its first suspension (see `start_eagerly`): one event for a user is this
        for every socket of the user, the fan-out's hot path."""
        try:
            while True:
                item = self.stream.take_nowait()
                if item is _READ_LOG:
                    # The log read (the database driver) must run in this sender's own
                    # task, not in the feed's delivery task this may have started in:
                    # suspending here hands the rest to the task.
                    await asyncio.sleep(0)
                    item = await self.stream.take()
                if item is None:
                    break
                if isinstance(item, Resync):
                    self.resyncs.inc()
                    await self.ws.send_text(json.dumps({"type": "resync", "seq": item.seq}))
                else:
                    # The ASGI send itself: Starlette's `WebSocket.send` adds a coroutine
                    # and checks a state that data frames do not change (its close is
                    # sent only after this sender has ended: `run`).
                    await self._asgi_send({"type": "websocket.send", "text": item[1]})
                    self.delivered.add()
        except StreamOverflow:
            self._end(Closed(CloseCode.TOO_SLOW, _TOO_SLOW))
        except StreamLost:
            self._end(Closed(CloseCode.SERVICE_RESTART, _LOST))
        except OSError:
            # The client is gone (the server's `ClientDisconnected`): what Starlette's
            # `WebSocket.send` makes of it.
            self._end(WebSocketDisconnect(1006))
        except Exception as exc:  # the client is gone, say: `run` raises it
            self._end(exc)
        finally:
            # No suspension between `take_nowait()` finding nothing and this: an offer
            # after it sees no sender and starts one.
            self._sender = None

    async def _receive(self) -> None:
        settings = self.svc.settings
        limit = settings.ws_max_message_bytes
        while True:
            text = await receive_text(self.ws, limit)
            if self._budget is None:
                # Made on the socket's first message: an idle socket holds none.
                self._budget = TokenBucket(settings.ws_messages_per_second, settings.ws_message_burst)
            # Every message counts, valid or not: its cost is in the receiving.
            if not self._budget.take():
                raise Closed(CloseCode.TOO_MANY_SOCKETS, "too many messages on this socket")
            # Handled at the user's place at work, as a request is: a user's many sockets
            # sending at once take one turn in this process, not one each, between other
            # users' steps (server.limits.inflight).
            place = await self.svc.in_flight.enter(self.principal.user_id, request=False)
            try:
                # A message already received is handled without suspending: yield to
                # the other connections first, as a request would between reads.
                await asyncio.sleep(0)
                await self._handle(text)
            finally:
                place.stop_working()

    async def _handle(self, text: str) -> None:
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            await self._error("invalid_json", "the message is not valid JSON")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ping":
            await self.ws.send_text('{"type":"pong"}')
        elif kind == "auth":
            await self._refresh(message.get("token"))
        else:
            await self._error("unknown_type", "expected a message of type ping or auth")

    async def _refresh(self, token: Any) -> None:
        # A refused token closes the socket (4401), as it would a request: retried for
        # free on an open socket, a bad token would cost a verification each time.
        fresh = await verify(self.ws, self.svc, token)
        if fresh.user_id != self.principal.user_id:
            raise Closed(CloseCode.NOT_AUTHENTICATED, "a refreshed token must have the same sub")
        self.expires_at = fresh.expires_at

    async def _error(self, code: str, detail: str) -> None:
        await self.ws.send_text(json.dumps({"type": "error", "code": code, "detail": detail}))
