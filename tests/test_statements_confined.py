"""Every SQL statement the server runs on a request path is confined to one user.

That is what sharding by user needs (docs/scaling.md): on Citus, with the user id as
the distribution column of every table, a statement pinned to one user id routes to
one shard; one that is not fans out to all of them. Named exceptions, which may touch
every user: the migrations, the retention and key-expiry pass of the maintenance loop,
the recent-events sweep;
LISTEN/NOTIFY and transaction control touch no table at all.

Two layers. The checker (`tests/sql_confinement.py`) on statements written here, so
what "confined" means is pinned down without a server. Then a real workload — every
REST operation, the list's filters, sorts and cursors, idempotent replays, the quota,
the changes feed and its long-poll, SSE and WebSocket catch-up — on two server processes
against a PostgreSQL cluster of the test's own, which logs every statement it runs
(`log_statement = all`, as JSON lines): the SQL PostgreSQL really ran, with its bound
parameters, parsed and checked statement by statement.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets

from tests.pgcluster import PgCluster, own_postgres
from tests.sql_confinement import DISTRIBUTION_COLUMN, confinement, parse
from tests.support import (
    ServerProcess,
    User,
    metric,
    running,
    sqlalchemy_url,
    wait_for_metric,
    wait_until,
)

# The maintenance loop's retention and key expiry, and the recent-events sweep (a wake-up
# lost with its writer): deliberately across all users, in the background, never on a
# request path; on Citus they run on every shard in parallel.
MAINTENANCE_STATEMENTS = {
    "retention: events past both the newest N of their user and the age bound": (
        "DELETE FROM events WHERE events.at < $1::TIMESTAMPTZ AND events.seq <= "
        "(SELECT users.seq FROM users WHERE users.id = events.user_id) - $2::BIGINT"
    ),
    "expiry: idempotency keys past their lifetime": (
        "DELETE FROM idempotency_keys WHERE idempotency_keys.created_at < $1::TIMESTAMPTZ"
    ),
    "sweep: the newest seq of every user with an event in the last seconds": (
        "SELECT events.user_id, max(events.seq) AS head FROM events "
        "WHERE events.at >= $1::TIMESTAMPTZ GROUP BY events.user_id"
    ),
}
# A session that reads or writes alembic's version table is a migration (the server's
# request paths never do): schema changes, which a sharded deployment applies to every
# shard.
MIGRATION_TABLE = "alembic_version"
QUOTA = 8


def _normal(sql: str) -> str:
    return parse(sql).sql(dialect="postgres")


# --- the checker, without a server ---------------------------------------------------

CONFINED = [
    "SELECT tasks.id FROM tasks WHERE tasks.user_id = $1 AND tasks.id = $2",
    # the list: the user row joined to its tasks, pinned through the join
    "SELECT users.seq, tasks.id FROM users LEFT OUTER JOIN tasks "
    "ON tasks.user_id = users.id AND tasks.completed = false WHERE users.id = $1 LIMIT $2",
    "INSERT INTO users (id, seq) VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET seq = users.seq + 1",
    # a create in one statement: each CTE's INSERT names the user in its SELECT
    "WITH c AS (INSERT INTO users (id, seq) VALUES ($1, 1) RETURNING users.seq), "
    "t AS (INSERT INTO tasks (user_id, id, created_seq) SELECT $1::VARCHAR, $2, c.seq FROM c "
    "RETURNING tasks.created_seq) SELECT t.created_seq, pg_notify($3, 'x') FROM t",
    "SELECT p.seq FROM (SELECT events.seq AS seq FROM events WHERE events.user_id = $1) AS p",
    "SELECT tasks.id FROM users RIGHT OUTER JOIN tasks ON users.id = tasks.user_id WHERE tasks.user_id = $1",
    "SELECT tasks.id FROM tasks WHERE tasks.user_id = 'alice' AND tasks.completed",
    "DELETE FROM events WHERE events.user_id = $1 "
    "AND events.seq < (SELECT users.seq FROM users WHERE users.id = events.user_id)",
    "UPDATE idempotency_keys SET status_code = $1 WHERE idempotency_keys.user_id = $2 "
    "AND idempotency_keys.key = $3",
]
UNCONFINED = [
    "SELECT count(*) FROM tasks",
    "SELECT tasks.id FROM tasks WHERE tasks.user_id = $1 OR tasks.completed",
    "SELECT tasks.id FROM tasks WHERE tasks.user_id = ANY($1)",
    "SELECT tasks.id FROM tasks WHERE tasks.user_id IN ($1, $2)",
    "SELECT tasks.id FROM tasks WHERE tasks.user_id > $1",
    # the preserved side of an outer join is not filtered by the ON
    "SELECT users.seq FROM users LEFT OUTER JOIN tasks ON tasks.user_id = $1 AND users.id = $1",
    "SELECT users.seq FROM tasks RIGHT OUTER JOIN users ON tasks.user_id = $1 AND users.id = $1",
    "SELECT tasks.id FROM tasks FULL OUTER JOIN events ON events.user_id = $1 AND tasks.user_id = $1",
    "INSERT INTO events (user_id, seq) VALUES ($1, 1), ($2, 1)",
    "INSERT INTO events (user_id, seq) SELECT tasks.user_id, 1 FROM tasks",
    "UPDATE users SET seq = 0",
    "SELECT tasks.id FROM tasks JOIN events ON events.seq = tasks.created_seq WHERE tasks.user_id = $1",
    *MAINTENANCE_STATEMENTS.values(),
]


@pytest.mark.parametrize("sql", CONFINED)
def test_the_checker_accepts_a_statement_pinned_to_one_user(sql: str) -> None:
    report = confinement(sql, {"$1": "alice", "$2": "alice", "$3": "x"})
    assert report.problems == [] and report.users == {"alice"}, report


@pytest.mark.parametrize("sql", UNCONFINED)
def test_the_checker_refuses_a_statement_that_reaches_other_users(sql: str) -> None:
    assert not confinement(sql, {"$1": "alice", "$2": "bob"}).confined


def test_the_checker_refuses_one_statement_over_two_users() -> None:
    sql = "SELECT tasks.id FROM tasks JOIN events ON events.user_id = $2 WHERE tasks.user_id = $1"
    assert confinement(sql, {"$1": "alice", "$2": "alice"}).confined
    assert not confinement(sql, {"$1": "alice", "$2": "bob"}).confined


# --- PostgreSQL's own record of a real workload --------------------------------------


@dataclass(frozen=True)
class Statement:
    session: str
    sql: str
    params: dict[str, str | None]


_RUN = re.compile(r"^(?:statement|execute [^:]*): (.*)$", re.DOTALL)
_PARAM = re.compile(r"(\$\d+) = (NULL|'(?:[^']|'')*')")


def _params(detail: str) -> dict[str, str | None]:
    if not detail.startswith("parameters: "):
        return {}
    found = _PARAM.findall(detail)
    return {name: None if value == "NULL" else value[1:-1].replace("''", "'") for name, value in found}


def statements_run(log_dir: Path, database: str) -> list[Statement]:
    """Every statement `log_statement = all` recorded for `database`, in order."""
    found = []
    for path in sorted(log_dir.glob("*.json")):
        for line in path.read_text(errors="replace").splitlines():
            record = json.loads(line)
            run = _RUN.match(record.get("message", ""))
            if record.get("dbname") == database and run:
                found.append(Statement(record["session_id"], run[1], _params(record.get("detail", ""))))
    return found


async def _log_every_statement(pg: PgCluster) -> Path:
    log_dir = pg.root / "statements"
    admin = await asyncpg.connect(pg.url())
    try:
        for name, value in {
            "logging_collector": "on",
            "log_destination": "jsonlog",
            "log_directory": str(log_dir),
            "log_filename": "statements.log",
            "log_statement": "all",
        }.items():
            await admin.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await admin.execute("CREATE DATABASE tasksync")
    finally:
        await admin.close()
    await pg.restart()  # the log collector starts only with the server
    return log_dir


@dataclass
class Recorded:
    statements: list[Statement]
    users: set[str]


SERVER_ENV = {
    "LOG_LEVEL": "info",
    "MAX_TASKS_PER_USER": str(QUOTA),
    # The maintenance loop runs its retention pass within the test.
    "RECONCILE_SECONDS": "0.5",
    "RETENTION_INTERVAL_SECONDS": "1",
    # ... and its recent-events sweep, whenever a process holds a stream.
    "CATCH_UP_SWEEP_SECONDS": "0.1",
}


@pytest.fixture(scope="module")
async def recorded(artifacts_dir: Path) -> Recorded:
    async with own_postgres() as pg:
        log_dir = await _log_every_statement(pg)
        # The servers migrate the empty database as they start: the migration exception.
        env = {**SERVER_ENV, "DATABASE_URL": sqlalchemy_url(pg.url("tasksync"))}
        servers = [ServerProcess(env, artifacts_dir, f"confined-{name}") for name in "ab"]
        async with running(*servers) as (a, b):
            users = await _workload(a, b)
            for server in (a, b):
                await wait_until(partial(_maintained, server), message="no retention pass ran")
        # The servers have stopped: all they ran is logged before this marker.
        marker = f"SELECT 'the end of the workload {uuid.uuid4().hex}'"
        conn = await asyncpg.connect(pg.url("tasksync"))
        try:
            await conn.execute(marker)
        finally:
            await conn.close()
        statements = await wait_until(
            lambda: _through(statements_run(log_dir, "tasksync"), marker),
            message="the statement log was not written",
        )
    return Recorded(statements, users)


def _through(statements: list[Statement], marker: str) -> list[Statement] | None:
    ends = [n for n, s in enumerate(statements) if s.sql == marker]
    return statements[: ends[0]] if ends else None


def _maintained(server: ServerProcess) -> bool:
    return any(r.get("message", "").startswith("maintenance: pruned") for r in server.log_records())


async def _workload(a: ServerProcess, b: ServerProcess) -> set[str]:
    alice, bob, full = User(), User(), User()
    async with (
        httpx.AsyncClient(base_url=a.url, headers=alice.headers, timeout=30) as api,
        httpx.AsyncClient(base_url=b.url, headers=alice.headers, timeout=30) as other,
    ):
        await _writes(api)
        await _reads(api)
        await _streams(api, other, b, alice)
        await _quota(a, full)
        # A user whose first contact is a socket authenticated by its first message.
        async with websockets.connect(b.ws_url, compression=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": bob.token}))
            assert json.loads(await ws.recv())["type"] == "hello"
    return {alice.id, bob.id, full.id}


async def _writes(api: httpx.AsyncClient) -> None:
    first = await api.post("/api/tasks", json={"title": "Buy milk", "due_date": "2026-12-01"})
    assert first.status_code == 201, first.text
    task = first.json()
    keyed = {"Idempotency-Key": "create-1", "X-Client-Id": "tab-1"}
    once = await api.post("/api/tasks", json={"title": "call Bob"}, headers=keyed)
    again = await api.post("/api/tasks", json={"title": "call Bob"}, headers=keyed)
    assert (once.status_code, again.headers.get("idempotent-replayed")) == (201, "true")
    assert (await api.post("/api/tasks", json={"title": "other"}, headers=keyed)).status_code == 422
    chosen = str(uuid.uuid4())
    put = await api.put(
        f"/api/tasks/{chosen}",
        json={"title": "Zebra"},
        headers={"If-None-Match": "*", "Idempotency-Key": "p-1"},
    )
    assert put.status_code == 201, put.text
    path = f"/api/tasks/{task['id']}"
    replaced = await api.put(path, json={"title": "Buy oat milk"}, headers={"If-Match": '"1"'})
    assert replaced.status_code == 200, replaced.text
    assert (await api.put(path, json={"title": "x"}, headers={"If-Match": '"1"'})).status_code == 412
    merge = {"Content-Type": "application/merge-patch+json", "Idempotency-Key": "m-1"}
    assert (await api.patch(path, content=b'{"description": "2 litres"}', headers=merge)).status_code == 200
    patch = {"Content-Type": "application/json-patch+json"}
    ops = [
        {"op": "test", "path": "/title", "value": "Buy oat milk"},
        {"op": "replace", "path": "/title", "value": "Oat"},
    ]
    assert (await api.patch(path, content=json.dumps(ops), headers=patch)).status_code == 200
    assert (await api.patch(path, content=json.dumps(ops), headers=patch)).status_code == 409
    assert (await api.patch(f"{path}/complete")).status_code == 200
    doomed = (await api.post("/api/tasks", json={"title": "doomed"})).json()["id"]
    gone = await api.delete(f"/api/tasks/{doomed}", headers={"Idempotency-Key": "d-1"})
    assert gone.status_code == 204


async def _reads(api: httpx.AsyncClient) -> None:
    items = (await api.get("/api/tasks")).json()["items"]
    assert (await api.get(f"/api/tasks/{items[0]['id']}")).status_code == 200
    assert (await api.get(f"/api/tasks/{uuid.uuid4()}")).status_code == 404
    for status in ("all", "pending", "completed"):
        for sort in ("created", "title", "due_date"):
            for order in ("asc", "desc"):
                query = {"status": status, "sort": sort, "order": order, "limit": "1"}
                page = (await api.get("/api/tasks", params=query)).json()
                while page["next_cursor"] is not None:  # key and null-key cursors alike
                    page = (
                        await api.get("/api/tasks", params={**query, "cursor": page["next_cursor"]})
                    ).json()
    changes = (await api.get("/api/changes", params={"since": "0", "limit": "2"})).json()
    assert changes["events"], changes


async def _streams(api: httpx.AsyncClient, other: httpx.AsyncClient, b: ServerProcess, alice: User) -> None:
    head = (await api.get("/api/tasks")).json()["seq"]
    # A socket and an SSE stream catching up from 0, and a long-poll parked on the
    # other process: all three then woken by one more write.
    async with (
        websockets.connect(f"{b.ws_url}?since=0", additional_headers=alice.headers, compression=None) as ws,
        api.stream("GET", "/api/events", params={"since": "0"}) as sse,
    ):
        assert json.loads(await ws.recv())["type"] == "hello"
        parked = await metric(b.url, "tasksync_open_streams", transport="poll")
        poll = asyncio.create_task(other.get("/api/changes", params={"since": str(head), "wait": "20"}))
        await wait_for_metric(b.url, "tasksync_open_streams", lambda v: v > parked, transport="poll")
        assert (await api.post("/api/tasks", json={"title": "live"})).status_code == 201
        assert (await poll).json()["events"][0]["seq"] == head + 1
        async for line in sse.aiter_lines():
            if line == f"id: {head + 1}":
                break
        while json.loads(await ws.recv()).get("seq") != head + 1:
            pass
        await asyncio.sleep(0.5)  # a few sweeps with the streams still open


async def _quota(a: ServerProcess, user: User) -> None:
    async with httpx.AsyncClient(base_url=a.url, headers=user.headers, timeout=30) as api:
        for n in range(QUOTA):
            assert (await api.post("/api/tasks", json={"title": f"t{n}"})).status_code == 201
        refused = await api.post("/api/tasks", json={"title": "one too many"})
        assert refused.status_code == 403, refused.text


# Commands that name no table (and that sqlglot need not parse): transaction control,
# the fan-out's LISTEN/UNLISTEN, and session settings a driver reads when it connects.
_NO_TABLE = {"BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "LISTEN", "UNLISTEN", "SHOW"}


def _no_table(sql: str) -> bool:
    return sql.split(None, 1)[0].rstrip(";").upper() in _NO_TABLE


def _migration_sessions(statements: list[Statement]) -> set[str]:
    return {s.session for s in statements if MIGRATION_TABLE in s.sql}


def _maintenance(sql: str) -> str | None:
    if _no_table(sql):
        return None
    normal = _normal(sql)
    return next((name for name, text in MAINTENANCE_STATEMENTS.items() if _normal(text) == normal), None)


def _on_request_paths(statements: list[Statement]) -> list[Statement]:
    """The statements that are none of the named exceptions."""
    migrations = _migration_sessions(statements)
    return [
        s
        for s in statements
        if s.session not in migrations and not _no_table(s.sql) and not _maintenance(s.sql)
    ]


def test_every_statement_on_a_request_path_is_confined_to_one_user(recorded: Recorded) -> None:
    unconfined: dict[str, str] = {}  # each statement once, however often it ran
    for statement in _on_request_paths(recorded.statements):
        report = confinement(statement.sql, statement.params)
        if report.touches and (not report.confined or not report.users <= recorded.users):
            unconfined.setdefault(statement.sql, f"{statement.sql}\n  params {statement.params}\n  {report}")
    assert not unconfined, "statements not confined to one user:\n" + "\n".join(unconfined.values())


def test_the_workload_ran_every_kind_of_statement_on_every_table(recorded: Recorded) -> None:
    touched: set[tuple[str, str]] = set()
    for statement in _on_request_paths(recorded.statements):
        touched |= confinement(statement.sql, statement.params).touches
    expected = {(table, verb) for table in DISTRIBUTION_COLUMN for verb in ("SELECT", "INSERT")}
    expected |= {
        ("users", "UPDATE"),
        ("tasks", "UPDATE"),
        ("tasks", "DELETE"),
        ("idempotency_keys", "UPDATE"),
    }
    assert expected <= touched, f"never run: {sorted(expected - touched)}"


def test_the_named_exceptions_ran(recorded: Recorded) -> None:
    assert _migration_sessions(recorded.statements), "no migration was recorded"
    ran = {_maintenance(s.sql) for s in recorded.statements} - {None}
    assert ran == set(MAINTENANCE_STATEMENTS), f"maintenance statements seen: {ran}"
