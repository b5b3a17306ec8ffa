"""Request ids, one structured log line per request, the HTTP latency metric, and the
JSON log format.

`server.api.edge` calls these for every request; websocket sessions log their own
open/close lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import sys
import time
from typing import Any

import orjson
from starlette.types import Scope

from server.runtime.metrics import Metrics

access_log = logging.getLogger("server.access")

# A caller's own request id is kept if it is short and plain; anything else is replaced.
_REQUEST_ID = re.compile(rb"[A-Za-z0-9._\-]{1,64}")


def usable_request_id(value: bytes) -> bool:
    """Whether a caller's `X-Request-Id` value is kept as the request's id."""
    return _REQUEST_ID.fullmatch(value) is not None


def request_id(given: bytes | None) -> str:
    """The request's id: the caller's usable one, else a new one."""
    if given is not None:
        return given.decode("latin-1")
    # Unique, not secret: 128 bits of the random module (reseeded in a forked child), as
    # long as uuid4().hex, without a system call for fresh entropy on every request.
    return f"{random.getrandbits(128):032x}"


def log_request(metrics: Metrics, scope: Scope, status: int, elapsed: float) -> None:
    """The latency metric and the access log line of one finished HTTP request."""
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    method = scope["method"]
    metrics.http_latency.observe((route, method, str(status)), elapsed)
    if not access_log.isEnabledFor(logging.INFO):
        return
    state = scope["state"]
    path = scope["path"]
    fields = {
        "request_id": state["request_id"],
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        # To a hundredth of a millisecond (`round(x, 2)` costs more than the whole
        # rest of this dictionary).
        "duration_ms": int(elapsed * 100_000 + 0.5) / 100,
        "user_id": state.get("user_id"),
    }
    direct = JsonLinesHandler.sole_handler_of(access_log, logging.INFO)
    if direct is not None:
        direct.write_line(time.time(), "info", access_log.name, f"{method} {path} {status}", fields)
        return
    # `makeRecord` + `handle`, the Logger's public pair, is `access_log.info(...)` minus
    # its `findCaller` stack walk: every access line comes from here, so the caller's
    # file and line would say nothing.
    record = access_log.makeRecord(
        access_log.name, logging.INFO, __file__, 0, "%s %s %s", (method, path, status), None, extra=fields
    )
    access_log.handle(record)


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra` fields."""

    def __init__(self) -> None:
        super().__init__()
        # The formatted second of the last line: `strftime` once a second, not per line.
        # One tuple, so a reader on another thread never pairs a second with another's text.
        self._second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return self.line(record.created, record.levelname.lower(), record.name, record.getMessage(), fields)

    def line(self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]) -> str:
        """The JSON line of one entry (without its newline)."""
        second = int(created)
        if self._second[0] != second:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        entry: dict[str, Any] = {
            "time": f"{self._second[1]}.{int((created - second) * 1000):03d}Z",
            "level": level,
            "logger": logger,
            "message": message,
            **fields,
        }
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # what orjson refuses (a lone surrogate, a huge int)
            return json.dumps(entry, default=str, ensure_ascii=False)


class JsonLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The production log handler: `JsonFormatter` lines on a stream.

    It can also write a line without a `LogRecord` (`write_line`): building a record and
    passing it through `Logger.handle` and `Handler.handle` was half of an access line's
    cost, paid on every request (17 µs a line that way, 8 µs without, measured alone).
    `log_request` takes that way only while this handler is the only one a record of its
    logger would reach and no filter could drop or change the record (`sole_handler_of`);
    otherwise, a test's capture handler or an operator's extra handler or filter for
    instance, it logs the usual way. Either way the line is the same.

    Direct lines written on an event loop go out together once per turn of the loop
    (`call_soon`): one write and flush (a system call) for all the requests a turn
    finished, rather than one each, and no line waits longer than that turn. Any other
    record, a `flush()` and `close()` write the waiting lines first, so lines keep their
    order."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.json = JsonFormatter()
        self.setFormatter(self.json)
        self._waiting: list[str] = []
        # The handler's lock (`Handler.lock`, made by its `createLock`): `acquire` is a
        # method call around it, twice per line.
        assert self.lock is not None
        self._lock = self.lock

    @staticmethod
    def sole_handler_of(logger: logging.Logger, level: int) -> JsonLinesHandler | None:
        """This kind of handler, if it is the only place a `level` record of `logger`
        would go, with no filter on the way (what `Logger.handle` itself reads)."""
        found: JsonLinesHandler | None = None
        current: logging.Logger | None = logger
        while current is not None:
            if current.filters:
                return None
            for handler in current.handlers:
                if found is not None or not isinstance(handler, JsonLinesHandler) or handler.filters:
                    return None
                found = handler
            current = current.parent if current.propagate else None
        return found if found is not None and level >= found.level else None

    def write_line(
        self, created: float, level: str, logger: str, message: str, fields: dict[str, Any]
    ) -> None:
        line = self.json.line(created, level, logger, message, fields)
        # The handler's lock, as in `handle`: `emit` may run on another thread.
        with self._lock:
            waiting = self._waiting
            waiting.append(line)
            first = len(waiting) == 1
        if not first:  # the write of the lines waiting already is due
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to wait for: written at once
            self._write_waiting()
            return
        loop.call_soon(self._write_waiting)

    def _write_waiting(self) -> None:
        # `StreamHandler.emit`'s write and flush, under the handler's lock.
        self.acquire()
        try:
            lines, self._waiting = self._waiting, []
            if lines:
                self.stream.write(self.terminator.join(lines) + self.terminator)
                super().flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": lines[0] if lines else ""}))
        finally:
            self.release()

    def emit(self, record: logging.LogRecord) -> None:
        self._write_waiting()
        super().emit(record)

    def flush(self) -> None:
        self._write_waiting()
        super().flush()

    def close(self) -> None:
        self._write_waiting()
        super().close()


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class TextFormatter(logging.Formatter):
    """Development's plain lines. Control characters in a message are escaped (`\x0a`):
    a request path arrives percent-decoded, so `%0a` in a URL would otherwise start a
    line of the caller's choosing. Tracebacks keep their lines."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if _CONTROL.search(message):
            escaped = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", message)
            record = logging.makeLogRecord({**record.__dict__, "msg": escaped, "args": None})
        return super().format(record)


def ensure_logging(json_lines: bool, level: str) -> None:
    """`configure_logging`, unless logging is set up already (by `python -m server serve`,
    a `--log-config`, or a test runner): under `uvicorn server.app:app` the app's
    request log lines would otherwise go nowhere. The filter of uvicorn's false error
    goes on in either case."""
    if not logging.getLogger().handlers:
        configure_logging(json_lines, level)
    _drop_false_handshake_error()


_FALSE_HANDSHAKE_ERROR = "ASGI callable returned without completing handshake."


class _DeniedHandshakeFilter(logging.Filter):
    """uvicorn's websockets-sansio protocol logs "ASGI callable returned without completing
    handshake." at ERROR after every handshake answered through the denial-response
    extension (its `send` never marks such a handshake complete; the fix is proposed
    upstream as Kludex/uvicorn PR 3138). Every socket handshake this app refuses is
    answered that way (a 429 with Retry-After), and in a reconnect storm that is one
    false error line per refusal: 150,000 in one run. The endpoint always accepts, closes
    or denies, so the line never reports a real fault of this app."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != _FALSE_HANDSHAKE_ERROR


def _drop_false_handshake_error() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DeniedHandshakeFilter) for f in logger.filters):
        logger.addFilter(_DeniedHandshakeFilter())


def configure_logging(json_lines: bool, level: str) -> None:
    """JSON lines in production, plain text in development; uvicorn's own loggers included."""
    # Neither format prints a record's thread, process or process name: not looking them
    # up for every record (the logging module's documented switches for this) saves a
    # few µs of each request's access line.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler: logging.Handler
    if json_lines:
        handler = JsonLinesHandler(sys.stderr)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
