"""The browser side, served by the API itself: the demo page at `/`, its service worker
at `/sw.js` (there so that its scope covers `/`), the JavaScript client under
`/client/`, and, in development mode only, `POST /api/dev/token`, with which the demo
signs in.

The files live in the checkout's `clients/js/` (the server runs from the repository);
without that folder `/` answers 404 and `/client/` is not mounted.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.bodies import JSON_TYPES, read_json_object
from server.api.services import services
from server.auth.tokens import mint_dev_token
from server.db.tables import USER_ID_MAX
from server.errors import NotFound, ValidationFailed, field_error
from server.schemas import is_storable

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "js"
DEMO_INDEX = CLIENT_DIR / "demo" / "index.html"
DEMO_WORKER = CLIENT_DIR / "demo" / "sw.js"
CLIENT_PATH = "/client"

# Only the app's own files, and sockets only to this very host: `ws://host wss://host`
# spelled out because 'self' did not cover the socket's scheme in every browser still in
# use (CSP Level 2).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'{sockets}; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'self'"
)
# A Host that is a plain host[:port] (anything else gets no socket source but 'self').
_PLAIN_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def content_policy(host: str) -> str:
    """The Content-Security-Policy of the demo and the `/client/` files, for `host`."""
    sockets = f" ws://{host} wss://{host}" if _PLAIN_HOST.match(host) else ""
    return _CSP.format(sockets=sockets)


class WithContentPolicy:
    """ASGI wrapper: every response of `app` (the static `/client/` folder, whose HTML
    pages need the policy as much as `/`) carries the Content-Security-Policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        host = Headers(scope=scope).get("host", "")

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                policy = (b"content-security-policy", content_policy(host).encode())
                message["headers"] = [*message.get("headers", []), policy]
            await send(message)

        await self.app(scope, receive, send_with_policy)


_EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_DEV_MODE_META = '<meta name="tasksync-dev-mode" content="false">'


async def demo_page(request: Request) -> Response:
    if not DEMO_INDEX.is_file():
        raise NotFound("no such route")
    html = DEMO_INDEX.read_text(encoding="utf-8")
    if services(request).settings.dev_mode:
        html = html.replace(_DEV_MODE_META, _DEV_MODE_META.replace("false", "true"))
    policy = content_policy(request.headers.get("host", ""))
    return HTMLResponse(html, headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache"})


async def demo_worker(request: Request) -> Response:
    if not DEMO_WORKER.is_file():
        raise NotFound("no such route")
    # no-cache: the browser checks for a new worker on every visit instead of a day later.
    return FileResponse(DEMO_WORKER, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


async def dev_token(request: Request) -> Response:
    """`POST /api/dev/token` `{"user": "alice"}` → `{"token": "…"}`.

    Registered for every method so that outside development mode each one gets the
    same 404 as an unknown route: the endpoint's existence is not revealed.
    """
    settings = services(request).settings
    if not settings.dev_mode or not from_this_machine(request):
        raise NotFound("no such route")
    if request.method != "POST":
        raise HTTPException(405, headers={"Allow": "POST"})
    body = await read_json_object(request, JSON_TYPES)
    user = body.get("user")
    if not isinstance(user, str) or not user.strip() or len(user) > USER_ID_MAX or not is_storable(user):
        raise ValidationFailed(
            "user must be a name of 1 to 255 characters",
            [field_error("body", "user", "must be a non-empty string of at most 255 characters")],
        )
    token = mint_dev_token(settings, user.strip())
    return JSONResponse({"token": token}, headers={"Cache-Control": "no-store"})


def from_this_machine(request: Request) -> bool:
    """Whether a request came from a loopback address and names a loopback host.

    Development tokens impersonate anyone, so they are minted only for this machine:
    a loopback peer keeps other hosts out (even with `--host 0.0.0.0`), and a loopback
    `Host` keeps out a page on another site that rebinds its DNS name to 127.0.0.1.
    """
    peer = request.client.host if request.client else ""
    host = request.url.hostname or ""
    return is_loopback(peer) and is_loopback(host)


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address (`127.0.0.0/8`, `::1`, bracketed or not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def web_routes() -> list[BaseRoute]:
    """`/`, `/sw.js`, the static `/client/` folder and the development token endpoint."""
    routes: list[BaseRoute] = [
        Route("/", demo_page, methods=["GET"], name="demo"),
        Route("/sw.js", demo_worker, methods=["GET"], name="demo_worker"),
        Route("/api/dev/token", dev_token, methods=_EVERY_METHOD, name="dev_token"),
    ]
    if CLIENT_DIR.is_dir():
        static = WithContentPolicy(StaticFiles(directory=CLIENT_DIR))
        routes.append(Mount(CLIENT_PATH, static, name="client"))
    return routes
