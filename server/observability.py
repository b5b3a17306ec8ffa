"""Request ids, one structured log line per request, and the HTTP latency metric.

A pure ASGI middleware (not BaseHTTPMiddleware) so streaming responses (SSE) and
websockets pass through untouched; websocket sessions log their own open/close lines.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.metrics import Metrics

access_log = logging.getLogger("server.access")

# A caller's own request id is kept if it is short and plain; anything else is replaced.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
    return os.urandom(16).hex()  # as random as uuid4().hex, without building a UUID


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.http_latency.labels(route, scope["method"], str(status)).observe(elapsed)
            access_log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "user_id": scope["state"].get("user_id"),
                },
            )


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # what orjson refuses (a lone surrogate, a huge int)
            return json.dumps(entry, default=str, ensure_ascii=False)


def ensure_logging(json_lines: bool, level: str) -> None:
    """`configure_logging`, unless logging is set up already (by `python -m server serve`,
    a `--log-config`, or a test runner): under `uvicorn server.app:app` the app's
    request log lines would otherwise go nowhere."""
    if not logging.getLogger().handlers:
        configure_logging(json_lines, level)


def configure_logging(json_lines: bool, level: str) -> None:
    """JSON lines in production, plain text in development; uvicorn's own loggers included."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
