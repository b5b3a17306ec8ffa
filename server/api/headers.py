"""Header fields added to every HTTP response on its way out: the browser hardening
fields, and those a handler left in the request's scope state (the rate-limit fields
of the budgets it spent), whatever kind of response it built (JSON, 204, a stream)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# For every response, HTML or not: no MIME sniffing, no referrer leaking ids in URLs,
# never framed (clickjacking). The demo page adds its own Content-Security-Policy.
HARDENING = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class ResponseHeaders:
    """ASGI middleware: adds `fixed` fields and the fields in `scope["state"][state_key]`
    to each response, leaving alone any field the response already has."""

    def __init__(self, app: ASGIApp, fixed: Mapping[str, str], state_key: str) -> None:
        self.app = app
        self.fixed = [(name.lower().encode(), value.encode()) for name, value in fixed.items()]
        self.state_key = state_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                from_state: Mapping[str, str] = scope.get("state", {}).get(self.state_key) or {}
                extra = self.fixed + [
                    (name.lower().encode(), value.encode()) for name, value in from_state.items()
                ]
                message["headers"] = headers + [(name, value) for name, value in extra if name not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)
