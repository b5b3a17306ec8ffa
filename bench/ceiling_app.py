"""The ceiling: the least code that does the same job as the server's endpoints, run
with exactly the uvicorn settings `python -m server serve` uses (`main()` captures the
keyword arguments `server.__main__._serve` passes to `uvicorn.run`).

* `GET /api/tasks` — verify the HS256 token (PyJWT), then the server's list statement
  (the user's head `seq` joined to the page of tasks: one statement, one snapshot, no
  explicit transaction) on a raw asyncpg pool, and the same JSON body.
* `POST /api/tasks` — verify the token, parse the body, then the server's statements in
  one transaction: bump the user's seq, insert the task, insert the event row,
  `pg_notify` — and the same 201 body with its `ETag`.
* `WS /ws` — verify the token, accept, send a hello, hold the socket (answers pings).
* `POST /fire` — send one event-shaped frame to every open `/ws` socket.

The pool has the server's size (DB_POOL_SIZE + DB_MAX_OVERFLOW) and skips asyncpg's
reset query on release (a known ≈20% cost; a ceiling should not pay it).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.realtime.channels import channel_for

SECRET = os.environ.get("BETTER_AUTH_SECRET", "")
COLUMNS = (
    "id, user_id, title, title_key, description, completed, due_date, created_at, updated_at, version, "
    "created_seq"
)
# The server's list query: the user row joined to its page of tasks, one statement (one
# snapshot), in autocommit. A user with no task gives one row of NULL task columns.
LIST = (
    "SELECT users.seq AS head, "
    + ", ".join(f"tasks.{c}" for c in COLUMNS.split(", "))
    + " FROM users LEFT OUTER JOIN tasks ON tasks.user_id = users.id"
    " WHERE users.id = $1 ORDER BY tasks.created_seq DESC LIMIT $2"
)
NEXT_SEQ = (
    "INSERT INTO users (id, seq, created_at) VALUES ($1, 1, $2) "
    "ON CONFLICT (id) DO UPDATE SET seq = users.seq + 1 RETURNING users.seq"
)
INSERT_TASK = f"INSERT INTO tasks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
INSERT_EVENT = "INSERT INTO events (user_id, seq, type, task_id, body, at) VALUES ($1, $2, $3, $4, $5, $6)"
NOTIFY = "SELECT pg_notify($1, $2)"

pool: asyncpg.Pool | None = None
sockets: set[WebSocket] = set()
fired = 0


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def now() -> datetime:
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def user_of(authorization: str | None) -> str | None:
    if not authorization or not authorization.startswith("Bearer "):
        return None
    try:
        claims = jwt.decode(
            authorization[7:], SECRET, algorithms=["HS256"], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def task_json(r: Any) -> dict[str, Any]:
    due: date | None = r["due_date"]
    return {
        "id": r["id"],
        "title": r["title"],
        "description": r["description"],
        "completed": r["completed"],
        "due_date": due.isoformat() if due is not None else None,
        "created_at": iso(r["created_at"].astimezone(UTC)),
        "updated_at": iso(r["updated_at"].astimezone(UTC)),
        "version": r["version"],
    }


async def list_tasks(request: Request) -> Response:
    user = user_of(request.headers.get("authorization"))
    if user is None:
        return Response(status_code=401)
    assert pool is not None
    async with pool.acquire() as conn:
        rows = await conn.fetch(LIST, user, 101)
    seq = rows[0]["head"] if rows else 0
    body = {
        "items": [task_json(r) for r in rows[:100] if r["id"] is not None],
        "seq": seq,
        "next_cursor": None,
    }
    return Response(dumps(body), media_type="application/json")


async def create_task(request: Request) -> Response:
    user = user_of(request.headers.get("authorization"))
    if user is None:
        return Response(status_code=401)
    fields = json.loads(await request.body())
    title = str(fields.get("title", "")).strip()
    if not 1 <= len(title) <= 200:
        return Response(status_code=422)
    description = str(fields.get("description", ""))
    stamp = now()
    task_id = str(uuid.uuid4())
    assert pool is not None
    async with pool.acquire() as conn, conn.transaction():
        seq = await conn.fetchval(NEXT_SEQ, user, stamp)
        row = (task_id, user, title, title.casefold(), description, False, None, stamp, stamp, 1, seq)
        await conn.execute(INSERT_TASK, *row)
        task = task_json(dict(zip(COLUMNS.split(", "), row, strict=True)))
        at = now()
        event = dumps({"seq": seq, "type": "task.created", "task": task, "origin": None, "at": iso(at)})
        await conn.execute(INSERT_EVENT, user, seq, "task.created", task_id, event, at)
        await conn.execute(NOTIFY, channel_for(user), str(seq))
    return Response(dumps(task), status_code=201, media_type="application/json", headers={"ETag": '"1"'})


async def ws_endpoint(ws: WebSocket) -> None:
    user = user_of(ws.headers.get("authorization"))
    await ws.accept()
    if user is None:
        await ws.close(4401)
        return
    await ws.send_text(dumps({"type": "hello", "seq": 0, "user_id": user}))
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


async def fire(_request: Request) -> Response:
    """One event-shaped frame to every socket; the response does not wait for the sends."""
    global fired
    fired += 1
    text = dumps({"seq": fired, "type": "task.created", "task": {"title": f"fire-{fired}"}, "at": iso(now())})

    async def send_all() -> None:
        for ws in list(sockets):
            try:
                await ws.send_text(text)
            except (RuntimeError, OSError, WebSocketDisconnect):
                pass

    asyncio.get_running_loop().create_task(send_all())
    return Response(dumps({"seq": fired}), media_type="application/json")


async def healthz(_request: Request) -> Response:
    return Response('{"status":"ok","app":"ceiling"}', media_type="application/json")


async def _no_reset(_conn: asyncpg.Connection) -> None:
    return None


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    global pool
    dsn = os.environ.get("CEILING_DSN", "")
    if dsn:
        size = int(os.environ.get("DB_POOL_SIZE", "10")) + int(os.environ.get("DB_MAX_OVERFLOW", "20"))
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, reset=_no_reset)
    try:
        yield
    finally:
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
