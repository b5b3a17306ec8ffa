"""The ceilings: the least code that still does each job the contract asks, run
with exactly the uvicorn settings `python -m server serve` uses (`main()` captures the
keyword arguments `server.__main__._serve` passes to `uvicorn.run`).

* `GET /api/tasks` — an HS256 check with the standard library (`hmac` + base64, no
  PyJWT), the read counted against the caller's rate (a fixed window), ONE indexed
  `SELECT` of the caller's newest tasks (the user row joined to its page, so the head
  `seq` comes in the same snapshot) on a raw asyncpg pool, and `orjson` to
  `{"items", "seq", "next_cursor"}`.
* `POST /api/tasks` — the same check and a write counted against its rate, the body's
  size bound, the contract's field checks (title, description, completed, due_date:
  types, lengths, storable text, an ISO date; until 2026-12-07 it took the title and
  description only, unchecked but for the title's length), then ONE autocommit
  statement (a CTE) that bumps the user's seq and task count (refused past the quota),
  inserts the task (with its description's JSON string, which lists carry as it is,
  as the server's schema has it), inserts the event row and calls
  `pg_notify` (with the event itself as the payload, so a listener needs no read), then
  `201` with the task, its `ETag` and `Tasksync-Seq`. The contract asks every create for
  each of these (429, 413, 403 and the two header fields); the ceiling did none of the
  four until 2026-12-06.
* `WS /ws` — check the header token, accept, send a hello, then only read (answering
  pings, which is how the benchmark proves a socket is alive). With a database, the
  process LISTENs on the channel of every user with a socket here and sends each
  notification's payload to that user's sockets: the fan-out ceiling.
* `POST /fire` — a bare loop sending one pre-encoded frame to every open `/ws` socket.

The pool has the server's size (DB_POOL_SIZE + DB_MAX_OVERFLOW) and skips asyncpg's
reset query on release (a known ≈20% cost; a ceiling should not pay it).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import limits
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.realtime.channels import channel_for
from server.runtime.tuning import allocator_tuned, collector_tuned, freeze_startup_objects
from server.schemas import utc_iso

SECRET = os.environ.get("BETTER_AUTH_SECRET", "").encode()
COLUMNS = (
    "id, user_id, title, title_key, description, description_json, completed, due_date, created_at,"
    " updated_at, version, created_seq"
)
# The server's default page (100) plus one row, to know whether there is a next page.
PAGE = 100
# One indexed SELECT (users' primary key, then ix_tasks_user_created backwards): the
# head seq and the page in one snapshot. A user with no task gives one row of NULLs.
LIST = (
    "SELECT users.seq AS head, tasks.id, tasks.title,"
    " convert_to(tasks.description_json, 'UTF8') AS description, tasks.completed, tasks.due_date,"
    " tasks.created_at, tasks.updated_at, tasks.version"
    " FROM users LEFT OUTER JOIN tasks ON tasks.user_id = users.id"
    " WHERE users.id = $1 ORDER BY tasks.created_seq DESC LIMIT $2"
)
# ONE autocommit statement for a create: seq and task count (no row past the quota: 403),
# task, event, notification. The event body is '{"seq":N,' + the rest, serialised here;
# its `at` is the create's stamp. It returns the seq, for `Tasksync-Seq`.
CREATE = (
    "WITH u AS ("
    " INSERT INTO users (id, seq, task_count, created_at) VALUES ($1, 1, 1, $2)"
    " ON CONFLICT (id) DO UPDATE SET seq = users.seq + 1, task_count = users.task_count + 1"
    " WHERE users.task_count + 1 <= $9 RETURNING seq"
    "), t AS ("
    f" INSERT INTO tasks ({COLUMNS})"
    " SELECT $3, $1, $4, $5, $6, $12, $10::boolean, $11::date, $2, $2, 1, u.seq FROM u"
    "), e AS ("
    " INSERT INTO events (user_id, seq, type, task_id, body, at)"
    " SELECT $1, u.seq, 'task.created', $3, '{\"seq\":' || u.seq::text || ',' || $7::text, $2 FROM u"
    " RETURNING seq, body"
    ") SELECT e.seq, pg_notify($8, e.body) FROM e"
)
# The same statements without the notification: what the database itself commits through
# the least code. PostgreSQL serialises the commits of transactions that NOTIFY behind
# one lock, so the write ceiling above is already below this one (`CEILING_NOTIFY=0`).
CREATE_QUIET = CREATE.replace("pg_notify($8, e.body)", "$8::text")
assert CREATE_QUIET != CREATE

# The contract's per-user request rates (`RATE_LIMIT_WRITES`/`_READS`, the server's
# settings), counted the least way: fixed windows, every count dropped when one ends.
WRITES = limits.parse(os.environ.get("RATE_LIMIT_WRITES", "100/10 seconds"))
READS = limits.parse(os.environ.get("RATE_LIMIT_READS", "300/10 seconds"))
CALENDAR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The contract's body bound and tasks held (the server's defaults).
MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", str(1024 * 1024)))
MAX_TASKS = int(os.environ.get("MAX_TASKS_PER_USER", "10000"))
# Each budget's counts per user, and the number of the window they are for.
counts: dict[bool, dict[str, int]] = {True: {}, False: {}}
counted_window: dict[bool, int] = {True: 0, False: 0}


def over_rate(user: str, write: bool) -> bool:
    item = WRITES if write else READS
    window = int(time.time() // item.get_expiry())
    mine = counts[write]
    if window != counted_window[write]:
        mine.clear()
        counted_window[write] = window
    n = mine[user] = mine.get(user, 0) + 1
    return n > item.amount


NOTIFY = os.environ.get("CEILING_NOTIFY", "1") != "0"
pool: asyncpg.Pool | None = None
listener: asyncpg.Connection | None = None
listen_lock = asyncio.Lock()
sockets: set[WebSocket] = set()
by_channel: dict[str, set[WebSocket]] = {}
fired = 0


def iso(t: datetime) -> str:
    # The server's own formatting (the fastest found: orjson's RFC 3339, cut to ms).
    return utc_iso(t)


def now() -> datetime:
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


# Token headers already seen to say HS256 (a token's header is the same bytes for every
# token one issuer mints); bounded so a stream of junk headers cannot grow it.
_hs256_headers: set[str] = set()


def user_of(authorization: str | None) -> str | None:
    """The `sub` of a valid, unexpired HS256 bearer token, else None."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    signing, _, signature = authorization[7:].rpartition(".")
    header, _, payload = signing.partition(".")
    try:
        expected = hmac.new(SECRET, signing.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64(signature), expected):
            return None
        if header not in _hs256_headers:
            if orjson.loads(_b64(header)).get("alg") != "HS256":
                return None
            if len(_hs256_headers) < 16:
                _hs256_headers.add(header)
        claims = orjson.loads(_b64(payload))
    except (ValueError, binascii.Error, AttributeError):
        return None
    exp, sub = claims.get("exp"), claims.get("sub")
    if not isinstance(exp, int | float) or exp < time.time() or not isinstance(sub, str):
        return None
    return sub


def task_json(r: Any) -> dict[str, Any]:
    """A listed task for the wire: its description is the UTF-8 of its stored JSON
    string, which goes out as it is (as the server does)."""
    due: date | None = r["due_date"]
    return {
        "id": r["id"],
        "title": r["title"],
        "description": orjson.Fragment(r["description"]),
        "completed": r["completed"],
        "due_date": due.isoformat() if due is not None else None,
        "created_at": iso(r["created_at"]),
        "updated_at": iso(r["updated_at"]),
        "version": r["version"],
    }


def json_response(body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code, headers, media_type="application/json")


async def list_tasks(request: Request) -> Response:
    user = user_of(request.headers.get("authorization"))
    if user is None:
        return Response(status_code=401)
    if over_rate(user, write=False):
        return Response(status_code=429, headers={"Retry-After": "1"})
    assert pool is not None
    rows = await pool.fetch(LIST, user, PAGE + 1)
    body = {
        "items": [task_json(r) for r in rows[:PAGE] if r["id"] is not None],
        "seq": rows[0]["head"] if rows else 0,
        "next_cursor": None,
    }
    return json_response(body)


async def create_task(request: Request) -> Response:
    user = user_of(request.headers.get("authorization"))
    if user is None:
        return Response(status_code=401)
    if over_rate(user, write=True):
        return Response(status_code=429, headers={"Retry-After": "1"})
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return Response(status_code=413)
    try:
        fields = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return Response(status_code=400)
    if not isinstance(fields, dict):
        return Response(status_code=422)
    # The contract's fields and bounds: a title of 1-200 characters once trimmed, a
    # description of up to 10,000, text PostgreSQL can store, a boolean, an ISO date.
    title, description = fields.get("title"), fields.get("description", "")
    completed, due_text = fields.get("completed", False), fields.get("due_date")
    if not isinstance(title, str) or not 1 <= len(title := title.strip()) <= 200:
        return Response(status_code=422)
    if not isinstance(description, str) or len(description) > 10_000 or not isinstance(completed, bool):
        return Response(status_code=422)
    if "\x00" in title or "\x00" in description:
        return Response(status_code=422)
    if due_text is not None and not (isinstance(due_text, str) and CALENDAR_DATE.fullmatch(due_text)):
        return Response(status_code=422)
    try:
        title.encode(), description.encode()  # no lone surrogates
        due = None if due_text is None else date.fromisoformat(due_text)
    except (UnicodeEncodeError, ValueError):
        return Response(status_code=422)
    stamp = now()
    task = {
        "id": str(uuid.uuid4()),
        "title": title,
        "description": description,
        "completed": completed,
        "due_date": due_text,
        "created_at": iso(stamp),
        "updated_at": iso(stamp),
        "version": 1,
    }
    rest = orjson.dumps({"type": "task.created", "task": task, "origin": None, "at": task["created_at"]})
    assert pool is not None
    args = (
        user,
        stamp,
        task["id"],
        title,
        title.casefold(),
        description,
        rest[1:].decode(),
        channel_for(user),
        MAX_TASKS,
        completed,
        due,
        orjson.dumps(description).decode(),
    )
    seq = await pool.fetchval(CREATE if NOTIFY else CREATE_QUIET, *args)
    if seq is None:
        return Response(status_code=403)
    return json_response(task, 201, {"ETag": '"1"', "Tasksync-Seq": str(seq)})


def _notified(_conn: object, _pid: int, channel: str, payload: str) -> None:
    targets = by_channel.get(channel)
    if targets:
        asyncio.get_running_loop().create_task(_send_all(list(targets), payload))


async def _send_all(targets: list[WebSocket], text: str) -> None:
    message = {"type": "websocket.send", "text": text}
    for ws in targets:
        try:
            await ws.send(message)
        except (RuntimeError, OSError, WebSocketDisconnect):
            pass


async def _listen(ws: WebSocket, channel: str) -> None:
    async with listen_lock:  # one asyncpg connection runs one command at a time
        if channel not in by_channel:
            assert listener is not None
            await listener.add_listener(channel, _notified)
            by_channel[channel] = set()
        by_channel[channel].add(ws)


async def _unlisten(ws: WebSocket, channel: str) -> None:
    async with listen_lock:
        targets = by_channel.get(channel)
        if targets is None:
            return
        targets.discard(ws)
        if not targets:
            del by_channel[channel]
            assert listener is not None
            await listener.remove_listener(channel, _notified)


async def ws_endpoint(ws: WebSocket) -> None:
    user = user_of(ws.headers.get("authorization"))
    if user is None:
        await ws.close(4401)
        return
    await ws.accept()
    channel = channel_for(user)
    if listener is not None:
        await _listen(ws, channel)
    await ws.send_text(orjson.dumps({"type": "hello", "seq": 0, "user_id": user}).decode())
    sockets.add(ws)
    try:
        while True:
            text = await ws.receive_text()
            if '"ping"' in text:
                await ws.send_text('{"type":"pong"}')
    except WebSocketDisconnect:
        pass
    finally:
        sockets.discard(ws)
        if listener is not None:
            await _unlisten(ws, channel)


async def fire(_request: Request) -> Response:
    """One event-shaped frame, encoded once, to every socket; the response does not wait."""
    global fired
    fired += 1
    text = orjson.dumps(
        {"seq": fired, "type": "task.created", "task": {"title": f"fire-{fired}"}, "at": iso(now())}
    ).decode()
    asyncio.get_running_loop().create_task(_send_all(list(sockets), text))
    return json_response({"seq": fired})


async def healthz(_request: Request) -> Response:
    return Response('{"status":"ok","app":"ceiling"}', media_type="application/json")


async def _no_reset(_conn: asyncpg.Connection) -> None:
    return None


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    global pool, listener
    # The server's allocator and garbage-collector tuning, applied the same way (its
    # lifespan).
    allocator_tuned()
    tuning = ExitStack()
    tuning.enter_context(collector_tuned())
    dsn = os.environ.get("CEILING_DSN", "")
    if dsn:
        size = int(os.environ.get("DB_POOL_SIZE", "10")) + int(os.environ.get("DB_MAX_OVERFLOW", "20"))
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, reset=_no_reset)
        listener = await asyncpg.connect(dsn)
    freeze_startup_objects()
    try:
        yield
    finally:
        tuning.close()
        if listener is not None:
            await listener.close()
        if pool is not None:
            await pool.close()


app = Starlette(
    routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/ceiling", healthz, methods=["GET"]),  # readiness probe that only this app answers
        Route("/api/tasks", list_tasks, methods=["GET"]),
        Route("/api/tasks", create_task, methods=["POST"]),
        Route("/fire", fire, methods=["POST"]),
        WebSocketRoute("/ws", ws_endpoint),
    ],
    lifespan=lifespan,
)


def main() -> None:
    """Serve this app with the uvicorn configuration the server's `serve` builds: every
    `uvicorn.Config` made while `server.__main__._serve` runs gets this app instead of
    the server's (whether `_serve` calls `uvicorn.run` or runs a `uvicorn.Server`)."""
    import uvicorn

    import server.__main__ as server_main
    from server.settings import Settings

    real_init = uvicorn.Config.__init__

    def init(self: uvicorn.Config, _app: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("factory", None)
        real_init(self, "bench.ceiling_app:app", *args, **kwargs)

    uvicorn.Config.__init__ = init  # type: ignore[method-assign,assignment]
    server_main._serve(Settings())


if __name__ == "__main__":
    main()
