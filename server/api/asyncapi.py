"""The AsyncAPI 3.0 document of the live protocol, generated from the frame models.

It describes the Tasksync server as the application: it *sends* hello, the events,
resync, pong and error, and *receives* auth and ping, on the WebSocket channel
(`/api/ws`) and, for hello, events and resync, on the SSE channel (`/api/events`),
where a message's `headers` are the SSE fields (`event:`, `id:`). The close codes are
`x-close-codes` of the WebSocket channel. `servers` names the host the document was
fetched from. This module lays out the channels and operations; the messages and their
schemas, one per frame model, are built in `server.api.asyncapi_messages`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.api.asyncapi_messages import (
    EVENT_KEYS,
    MESSAGES,
    SSE_KEYS,
    component_messages,
    component_schemas,
)
from server.errors import CloseCode

# `since` is read as at most 18 digits (server.api.services.parse_since), as /openapi.json says.
_SINCE = {
    "type": "integer",
    "minimum": 0,
    "maximum": 10**18 - 1,
    "description": "Resume after this seq: the events after it are replayed, then live ones follow",
}
_CLOSE_CODES = {
    CloseCode.UNSUPPORTED_DATA: "A binary frame: the protocol is JSON text frames",
    CloseCode.POLICY_VIOLATION: "A bad `since` (not a non-negative integer)",
    CloseCode.MESSAGE_TOO_BIG: "A message over the size limit",
    CloseCode.INTERNAL_ERROR: "An unexpected server error (a bug, logged): reconnect with `since`",
    CloseCode.SERVICE_RESTART: (
        "The server is restarting, or cannot reach its database right now: reconnect with `since`"
    ),
    CloseCode.NOT_AUTHENTICATED: (
        "Not authenticated: no valid token (header, or `auth` within 5 seconds), the token "
        "expired, a refreshing `auth` carried a token that was refused, or one that names "
        "another `sub`; reconnect with a fresh token"
    ),
    CloseCode.ORIGIN_REFUSED: "The handshake's `Origin` is not allowed (an HTTP 403 where refused early)",
    CloseCode.TOO_SLOW: "Too slow to keep up: reconnect with `since`",
    CloseCode.TOO_MANY_SOCKETS: (
        "Too many sockets for this user, too many stream opens, or more messages on this "
        "socket than its budget (a few per second, small bursts): retry later"
    ),
}


def _refs(channel: str, keys: list[str]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{channel}/messages/{key}"} for key in keys]


def _operation(action: str, channel: str, keys: list[str], summary: str, **more: Any) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": _refs(channel, keys),
        **more,
    }


def _channels() -> dict[str, Any]:
    return {
        "socket": {
            "address": "/api/ws",
            "title": "WebSocket",
            "description": (
                "JSON text frames both ways. Authenticate with the `Authorization` header on the "
                "handshake, or (browsers) with an `auth` message first. A text message the socket "
                "cannot take is answered with `error`; the close codes are in `x-close-codes`."
            ),
            "servers": [{"$ref": "#/servers/websocket"}],
            "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in MESSAGES},
            "bindings": {
                "ws": {
                    "method": "GET",
                    "query": {"type": "object", "properties": {"since": _SINCE}},
                    "headers": {
                        "type": "object",
                        "properties": {
                            "Authorization": {"type": "string", "description": "`Bearer <JWT>`"},
                            "Origin": {"type": "string", "description": "A browser's; must be allowed"},
                        },
                    },
                    "bindingVersion": "0.1.0",
                }
            },
            "x-close-codes": [
                {"code": int(code), "name": code.name.lower(), "description": _CLOSE_CODES[code]}
                for code in CloseCode
            ],
        },
        "events": {
            "address": "/api/events",
            "title": "Server-sent events",
            "description": (
                "`text/event-stream`: `event:` is the message's `type`, `data:` its JSON, `id:` the "
                "seq of an event. Resume with `Last-Event-ID` or `?since=`; a `: keep-alive` "
                "comment comes when nothing else does."
            ),
            "servers": [{"$ref": "#/servers/http"}],
            "messages": {key: {"$ref": f"#/components/messages/sse.{key}"} for key in SSE_KEYS},
        },
    }


def _operations() -> dict[str, Any]:
    sse_binding = {
        "http": {
            "method": "GET",
            "query": {"type": "object", "properties": {"since": _SINCE}},
            "bindingVersion": "0.3.0",
        }
    }
    return {
        "sendHello": _operation("send", "socket", ["hello"], "Greet an authenticated socket"),
        "sendEvent": _operation("send", "socket", EVENT_KEYS, "Each event, replayed then live, in seq order"),
        "sendResync": _operation("send", "socket", ["resync"], "Tell the client to refetch"),
        "sendError": _operation("send", "socket", ["error"], "Refuse a text message"),
        "receiveAuth": _operation("receive", "socket", ["auth"], "Authenticate, or refresh the token"),
        "receivePing": _operation(
            "receive",
            "socket",
            ["ping"],
            "Answer a ping",
            reply={"channel": {"$ref": "#/channels/socket"}, "messages": _refs("socket", ["pong"])},
        ),
        "streamHello": _operation("send", "events", ["hello"], "Open the stream", bindings=sse_binding),
        "streamEvent": _operation(
            "send", "events", EVENT_KEYS, "Each event, in seq order", bindings=sse_binding
        ),
        "streamResync": _operation(
            "send", "events", ["resync"], "Tell the client to refetch", bindings=sse_binding
        ),
    }


def _servers(host: str, secure: bool) -> dict[str, Any]:
    security = [{"$ref": "#/components/securitySchemes/bearer"}]
    return {
        "websocket": {"host": host, "protocol": "wss" if secure else "ws", "security": security},
        "http": {"host": host, "protocol": "https" if secure else "http", "security": security},
    }


def _document_without_servers() -> dict[str, Any]:
    return {
        "channels": _channels(),
        "operations": _operations(),
        "components": {
            "schemas": component_schemas(),
            "messages": component_messages(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "`Authorization: Bearer <JWT>` on the handshake or the request. A browser, "
                        "which cannot set headers on a WebSocket, sends an `auth` message first "
                        "instead. Tokens are never put in the URL."
                    ),
                }
            },
        },
    }


def build_document(host: str = "localhost:8000", secure: bool = False) -> dict[str, Any]:
    """The document as served from `host` (over TLS when `secure`)."""
    return {**_members_naming_the_host(host, secure), **_document_without_servers()}


def _members_naming_the_host(host: str, secure: bool) -> dict[str, Any]:
    http = "https" if secure else "http"
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tasksync live protocol",
            "version": "0.1.0",
            "description": (
                "Every change to a user's tasks is a numbered event in the user's log (`seq` 1, 2, 3 "
                "... without gaps), delivered in order, without duplicates, replayed after `since` "
                "and then live. The REST API is described by `/openapi.json`."
            ),
            "license": {"name": "MIT"},
            "externalDocs": {"description": "The REST API", "url": f"{http}://{host}/openapi.json"},
        },
        "defaultContentType": "application/json",
        "servers": _servers(host, secure),
    }


@cache
def _members_without_servers() -> str:
    """The JSON text of every member that does not name the host, braces stripped:
    built once per process. The Host header is the caller's to choose, so a document
    built per host (5 ms of CPU) let any client spend that much per request."""
    return json.dumps(_document_without_servers())[1:-1]


def _document_json(host: str, secure: bool) -> bytes:
    """`build_document(host, secure)` as JSON text, from the part built once."""
    head = json.dumps(_members_naming_the_host(host, secure))
    return (head[:-1] + "," + _members_without_servers() + "}").encode()


async def asyncapi_endpoint(request: Request) -> Response:
    return Response(
        _document_json(request.url.netloc, request.url.scheme == "https"), media_type="application/json"
    )
