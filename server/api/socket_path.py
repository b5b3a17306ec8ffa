"""The websocket path around the HTTP middleware.

Every middleware layer a connection passes through is a coroutine that stays suspended
for as long as the connection is open: nothing for a request, but for an idle socket
held for hours it is memory per socket (the issue-9 idle-socket target). The layers
after `HeaderBounds` do nothing for a websocket besides the request id
(`ObservabilityMiddleware`): CORS, the response headers and Starlette's
`ExceptionMiddleware` only act on HTTP responses, and `GET /api/ws` catches its own
errors. So a websocket scope goes from here straight to the app's router, with its
request id; everything else passes on down the stack.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from server.observability import request_id_of


class SocketShortcut:
    """ASGI middleware, placed right after `HeaderBounds` (which refuses oversized
    handshakes first): websocket connections skip the rest of the stack."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        # The socket's log lines carry it, as the request log lines do theirs.
        scope.setdefault("state", {})["request_id"] = request_id_of(scope)
        # `scope["app"]` is set by `Starlette.__call__`; `router` is its public router.
        app: Starlette = scope["app"]
        await app.router(scope, receive, send)
