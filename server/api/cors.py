"""CORS through Starlette's CORSMiddleware, for the requests it concerns: those that
carry an `Origin` (a browser's cross-origin requests and preflights). The rest — REST
clients, same-origin reads — go straight on, sparing every one of them a layer that
would only add `Vary: Origin`; that field comes with the fixed response fields instead
(`server.api.headers`). A wrapper around the public middleware, not a change to it.
"""

from __future__ import annotations

from typing import Any

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

# On every response, as CORSMiddleware sends it: a cache must not hand a response made
# for one origin (or none) to another.
VARY_ORIGIN = {"Vary": "Origin"}


class CorsForOrigins:
    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(name == b"origin" for name, _ in scope["headers"]):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
