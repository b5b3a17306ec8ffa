"""PostgreSQL restarted under load, as a user of two server processes sees it.

A cluster of the test's own (tests/pgcluster.py) is restarted while two users write
about 40 times a second through both processes (creates with an `Idempotency-Key`,
toggles, edits), poll `GET /api/tasks` and `GET /api/changes?since=` (the read that runs
in one snapshot transaction), and hold a socket on each process: a few times with
`pg_ctl restart -m fast`, as a deployment restarts it, then stopped for a couple of
seconds and started. Every answer must be a 2xx or a `503` problem with `Retry-After`
(never a `500`, never a dropped connection); a `503`'d write retried after recovery
with its key applies exactly once; every write is in the database once; each user's log, as the changes feed
and the sockets deliver it, is 1..N without gaps or duplicates; the server logs show no
driver error as an unhandled one and no traceback.

asyncpg raises `InternalClientError: cannot switch to state …; another operation is in
progress` both for a connection driven by two code paths at once (found by a review
under SQLAlchemy) and for one whose server ended it while it was idle, before asyncpg
saw the socket close (MagicStack/asyncpg#1069). The server never shares a connection;
a connection found dead at a block's first statement is replaced and the statement
retried; one lost mid-request is the outage itself: a 503, logged once per outage in
the "database unreachable" line, which may name that error, as may the listener's line
when its health check meets it and reconnects. Anywhere else it fails the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.hosts.readers import Dropped, WsReader
from tests.pgcluster import PgCluster, own_postgres
from tests.support import ServerProcess, User, running, sqlalchemy_url, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SERVER_ENV = {
    "LOG_LEVEL": "info",  # the access log names every answer's status
    "LISTENER_HEALTH_SECONDS": "1",
    "LISTENER_TIMEOUT_SECONDS": "2",
}
# Four writers (two users on two processes) at ten writes a second: the load that
# once made the driver error show up within seconds.
WRITE_INTERVAL = 0.1
CHANGES_INTERVAL = 0.05
LIST_INTERVAL = 0.1
# Each fast shutdown ends every idle pooled connection at once, the moment the driver's
# error came from (a connection handed out while its end was still being read): a few
# restarts give it a few chances.
QUICK_RESTARTS = 3
# How long PostgreSQL stays down in the last restart: long enough that every kind of
# request meets a database that refuses connections, not only one that ends sessions.
DOWN_SECONDS = 2.0
RECOVERY_TIMEOUT = 30.0
# Close codes of the contract that say "reconnect with since"; any other ends the test.
RESUMABLE_CLOSES = {1012, 4408}
LOG_FORBIDDEN = ("InternalClientError", "another operation", "Traceback", "unhandled error")
# The lines that report an outage and may name the driver's error: the one line per
# outage (server/db/database.py OutageLog), and the listener's, when its health check finds its
# connection dead and reconnects (server/realtime/listener/postgres.py). A listener that died
# of it instead logs a traceback ("listener supervisor failed"), which fails the test.
OUTAGE_LINES = ("database unreachable, answering 503", "listener connection failed: ")


@dataclass
class Answers:
    """Every answer the load got, judged as it arrives: 2xx, or 503 + Retry-After."""

    problems: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    async def send(
        self, http: httpx.AsyncClient, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        """The answer, or None when there was none (the connection failed: recorded)."""
        try:
            response = await http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.problems.append(f"{http.base_url} {method} {path}: no answer: {exc!r}")
            return None
        status = response.status_code
        self.statuses[status] += 1
        if status == 503 and not _retry_later(response):
            self.problems.append(
                f"{method} {path}: 503 without problem+json and Retry-After: {response.headers}"
            )
        elif not (200 <= status < 300 or status == 503):
            self.problems.append(f"{method} {path}: {status} {response.text[:300]}")
        return response


def _retry_later(response: httpx.Response) -> bool:
    retry_after = response.headers.get("retry-after", "")
    return (
        response.headers.get("content-type", "").startswith("application/problem+json")
        and retry_after.isdigit()
        and int(retry_after) >= 1
    )


@dataclass
class Write:
    """One write as a client keeps it, to resend with the same key, method, path and body."""

    user: User
    method: str
    path: str
    body: dict[str, Any] | None
    task: str | None = None  # the task it changes; a create's once answered
    toggle: bool = False
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    answer: httpx.Response | None = None  # the first 2xx
    attempts: list[int] = field(default_factory=list)

    async def send(self, answers: Answers, http: httpx.AsyncClient) -> None:
        kwargs: dict[str, Any] = {"headers": {"Idempotency-Key": self.key}}
        if self.body is not None:
            kwargs["json"] = self.body
        response = await answers.send(http, self.method, self.path, **kwargs)
        self.attempts.append(response.status_code if response is not None else 0)
        if response is not None and response.is_success and self.answer is None:
            self.answer = response
            if self.method == "POST":
                self.task = response.json()["id"]


@dataclass
class Load:
    """Writers, pollers and sockets of every user on every process, until stopped."""

    users: list[User]
    servers: list[ServerProcess]
    answers: Answers = field(default_factory=Answers)
    writes: list[Write] = field(default_factory=list)
    # (process, time.monotonic()) of each write answered 2xx, to see each process recover.
    written: list[tuple[str, float]] = field(default_factory=list)
    feeds: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (user, process) -> seqs
    sockets: list[Socket] = field(default_factory=list)
    writing: asyncio.Event = field(default_factory=asyncio.Event)
    _writers: list[asyncio.Task[None]] = field(default_factory=list)
    recoveries: dict[str, float] = field(default_factory=dict)  # restart -> seconds until answered again

    async def write(self, user: User, server: ServerProcess) -> None:
        mine: list[str] = []  # tasks this writer created, each changed only by it
        async with _client(server, user) as http:
            for n in itertools.count():
                kind = "create" if not mine else ("create", "toggle", "edit", "toggle")[n % 4]
                task = mine[n % len(mine)] if mine else None
                if kind == "create":
                    write = Write(user, "POST", "/api/tasks", {"title": f"{server.name} {n} {uuid.uuid4()}"})
                elif kind == "toggle":
                    write = Write(user, "PATCH", f"/api/tasks/{task}/complete", None, task, toggle=True)
                else:
                    write = Write(user, "PATCH", f"/api/tasks/{task}", {"description": f"edit {n}"}, task)
                self.writes.append(write)
                await write.send(self.answers, http)
                if write.answer is not None:
                    self.written.append((server.name, time.monotonic()))
                    if kind == "create" and write.task is not None:
                        mine.append(write.task)
                if await _paused(self.writing, WRITE_INTERVAL):
                    return

    async def list_tasks(self, user: User, server: ServerProcess) -> None:
        async with _client(server, user) as http:
            while True:
                await self.answers.send(http, "GET", "/api/tasks", params={"limit": 50})
                await asyncio.sleep(LIST_INTERVAL)

    async def follow_changes(self, user: User, server: ServerProcess) -> None:
        seqs = self.feeds.setdefault((user.id, server.name), [])
        async with _client(server, user) as http:
            while True:
                since = seqs[-1] if seqs else 0
                response = await self.answers.send(http, "GET", "/api/changes", params={"since": since})
                if response is not None and response.status_code == 200:
                    page = response.json()
                    got = [event["seq"] for event in page["events"]]
                    if page["resync"] or got != list(range(since + 1, since + 1 + len(got))):
                        self.answers.problems.append(f"changes after {since} on {server.name}: {page}")
                        return
                    seqs.extend(got)
                await asyncio.sleep(CHANGES_INTERVAL)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Load]:
        pairs = [(user, server) for user in self.users for server in self.servers]
        self.sockets = [Socket(server.url, user, f"ws {user.id} {server.name}") for user, server in pairs]
        readers = [asyncio.create_task(socket.run()) for socket in self.sockets]
        try:
            await wait_until(lambda: all(s.connected for s in self.sockets), message="sockets did not open")
            for job in (self.list_tasks, self.follow_changes):
                readers += [asyncio.create_task(job(user, server)) for user, server in pairs]
            self._writers = [asyncio.create_task(self.write(user, server)) for user, server in pairs]
            yield self
        finally:
            self.writing.set()
            for socket in self.sockets:
                socket.stop()
            for task in [*self._writers, *readers]:
                task.cancel()
            await asyncio.gather(*self._writers, *readers, return_exceptions=True)

    async def stop_writing(self) -> None:
        """Let each writer finish the write it is sending, then stop (the readers go on)."""
        self.writing.set()
        await asyncio.wait_for(asyncio.gather(*self._writers), RECOVERY_TIMEOUT)

    def writes_answered_since(self, moment: float) -> set[str]:
        return {name for name, when in self.written if when > moment}


class Socket(WsReader):
    """A socket that resumes with `since` after every drop, and says how it dropped."""

    async def follow(self) -> None:
        try:
            await super().follow()
        except InvalidStatus as refused:
            # A handshake the server cannot serve now (503) is a retry-later too.
            raise Dropped(f"refused {refused.response.status_code}") from None

    def unexplained_drops(self) -> list[str]:
        allowed = {f"closed {code}" for code in RESUMABLE_CLOSES} | {"refused 503"}
        return [why for _, why in self.drops if why not in allowed]


def _client(server: ServerProcess, user: User) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=20)


async def _paused(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` (the pace of a loop) or until `stop` is set; whether it was set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def _started_at(pg: PgCluster) -> Any:
    conn = await asyncpg.connect(pg.url("postgres"))
    try:
        return await conn.fetchval("SELECT pg_postmaster_start_time()")
    finally:
        await conn.close()


async def _stop_and_start(pg: PgCluster) -> None:
    """Down for a while: new connections are refused, not only the open ones ended."""
    await pg.stop()
    await asyncio.sleep(DOWN_SECONDS)  # the outage itself, under load
    await pg.start()


async def _through(load: Load, restart: Awaitable[None], what: str) -> None:
    """Restart PostgreSQL under the load; return once both processes answer normally:
    ready, and each has answered a write since PostgreSQL came back."""
    await restart
    back = time.monotonic()

    async def recovered() -> bool:
        async with httpx.AsyncClient(timeout=5) as http:
            for server in load.servers:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{server.url}/readyz")).status_code == 200:
                        continue
                return False
        return load.writes_answered_since(back) == {server.name for server in load.servers}

    await wait_until(recovered, timeout=RECOVERY_TIMEOUT, message=f"the servers did not recover from {what}")
    load.recoveries[what] = round(time.monotonic() - back, 2)


async def _retry_unanswered(load: Load) -> None:
    """Resend every write that got a 503 (or no answer) with its key, as a client's
    outbox does once the server is back; then resend each once more, which must replay."""
    async with contextlib.AsyncExitStack() as stack:
        clients = {
            user.id: [await stack.enter_async_context(_client(server, user)) for server in load.servers]
            for user in load.users
        }
        retried = [write for write in load.writes if write.answer is None]
        for n, write in enumerate(retried):
            await write.send(load.answers, clients[write.user.id][n % 2])
            assert write.answer is not None, f"{write.method} {write.path} after recovery: {write.attempts}"
        for n, write in enumerate(retried):
            first = write.answer
            again = await load.answers.send(
                clients[write.user.id][(n + 1) % 2],
                write.method,
                write.path,
                headers={"Idempotency-Key": write.key},
                **({"json": write.body} if write.body is not None else {}),
            )
            assert first is not None and again is not None
            assert again.headers.get("idempotent-replayed") == "true", (write.method, write.path)
            assert (again.status_code, again.text) == (first.status_code, first.text)


async def test_a_postgres_restart_under_load_loses_nothing_and_answers_only_2xx_or_503(
    artifacts_dir: Path,
) -> None:
    async with own_postgres() as pg:
        admin = await asyncpg.connect(pg.url("postgres"))
        try:
            await admin.execute("CREATE DATABASE tasksync")
        finally:
            await admin.close()
        # The servers migrate the empty database as they start.
        env = {**SERVER_ENV, "DATABASE_URL": sqlalchemy_url(pg.url("tasksync"))}
        servers = [ServerProcess(env, artifacts_dir, f"restart-{name}") for name in "ab"]
        async with running(*servers):
            load = Load([User(), User()], servers)
            try:
                async with load.running():
                    await wait_until(lambda: len(load.written) >= 20, message="the load made no progress")
                    before = await _started_at(pg)
                    for n in range(1, QUICK_RESTARTS + 1):
                        await _through(load, pg.restart(), f"pg_ctl restart -m fast #{n}")
                    await _through(load, _stop_and_start(pg), f"a stop, {DOWN_SECONDS:g} s down, and start")
                    assert await _started_at(pg) != before, "PostgreSQL was not restarted"
                    await load.stop_writing()

                    await _retry_unanswered(load)
                    heads = await _check_database(pg, load)
                    await wait_until(
                        lambda: _caught_up(load, heads),
                        timeout=RECOVERY_TIMEOUT,
                        message=lambda: f"behind {heads}: {_positions(load)}; {load.answers.problems[:5]}",
                    )
                    async with httpx.AsyncClient(timeout=5) as http:
                        for server in servers:
                            assert (await http.get(f"{server.url}/readyz")).status_code == 200
            finally:
                print(_summary(load))

    # The logs first: they name the cause of a 500, which the answers only show.
    for server in servers:
        _check_log(server.log_path.read_text(errors="replace"), server.name)
    assert not load.answers.problems, "\n".join(load.answers.problems[:20])
    assert load.answers.statuses[503] > 0, "no request met the outage: the test tested nothing"
    for (user_id, server_name), seqs in load.feeds.items():
        assert seqs == list(range(1, heads[user_id] + 1)), f"changes of {user_id} on {server_name}"
    for socket in load.sockets:
        assert socket.resyncs == 0, f"{socket.name} was told to resync"
        assert socket.seqs == list(range(1, heads[socket.user.id] + 1)), f"{socket.name}: {socket.drops}"
        assert not socket.unexplained_drops(), f"{socket.name}: {socket.drops}"


async def _check_database(pg: PgCluster, load: Load) -> dict[str, int]:
    """Every write is in the database exactly once; returns each user's head seq."""
    heads: dict[str, int] = {}
    conn = await asyncpg.connect(pg.url("tasksync"))
    try:
        for user in load.users:
            writes = [w for w in load.writes if w.user.id == user.id]
            seqs = sorted(int(w.answer.headers["tasksync-seq"]) for w in writes if w.answer is not None)
            assert seqs == list(range(1, len(writes) + 1)), "the writes' seqs are not 1..N"
            logged = await conn.fetch("SELECT seq FROM events WHERE user_id = $1 ORDER BY seq", user.id)
            assert [row["seq"] for row in logged] == seqs, "the event log is not one event per write"
            assert await conn.fetchval("SELECT seq FROM users WHERE id = $1", user.id) == len(writes)

            rows = await conn.fetch(
                "SELECT id, title, version, completed FROM tasks WHERE user_id = $1", user.id
            )
            creates = [w for w in writes if w.method == "POST"]
            assert sorted(row["title"] for row in rows) == sorted(
                str((w.body or {})["title"]) for w in creates
            ), "a create is missing or in the database twice"
            for row in rows:
                changes = [w for w in writes if w.task == row["id"] and w.method == "PATCH"]
                toggles = sum(w.toggle for w in changes)
                assert (row["version"], row["completed"]) == (1 + len(changes), toggles % 2 == 1), (
                    f"task {row['id']}: a change applied other than once"
                )
            heads[user.id] = len(writes)
    finally:
        await conn.close()
    return heads


def _positions(load: Load) -> dict[str, int]:
    return {
        **{f"changes {u} {s}": seqs[-1] if seqs else 0 for (u, s), seqs in load.feeds.items()},
        **{socket.name: socket.last for socket in load.sockets},
    }


def _caught_up(load: Load, heads: dict[str, int]) -> bool:
    feeds = all((seqs[-1] if seqs else 0) >= heads[user_id] for (user_id, _), seqs in load.feeds.items())
    return feeds and all(socket.last >= heads[socket.user.id] for socket in load.sockets)


def _check_log(text: str, name: str) -> None:
    entries = [json.loads(line) if line.startswith("{") else {"message": line} for line in text.splitlines()]
    # The driver's error first: it says why a request failed, the access log only that it did.
    for forbidden in LOG_FORBIDDEN:
        for entry in entries:
            if entry["message"].startswith(OUTAGE_LINES) and "exception" not in entry:
                continue
            if forbidden in entry["message"] or forbidden in str(entry.get("exception", "")):
                cause = str(entry.get("exception", ""))[-2500:]
                raise AssertionError(f"server {name} logged {forbidden!r}: {entry['message']}\n{cause}")
    for entry in entries:
        status = entry.get("status")
        if isinstance(status, int) and status >= 500 and status != 503:
            raise AssertionError(f"server {name} answered {status}: {entry}")


def _summary(load: Load) -> str:
    """What the load met, for the test's output (shown on a failure, or with -rP)."""
    answered = sum(1 for w in load.writes if w.answer is not None)
    drops = {socket.name: [why for _, why in socket.drops] for socket in load.sockets}
    return (
        f"writes: {len(load.writes)} ({answered} answered 2xx); statuses: {dict(load.answers.statuses)}; "
        f"socket drops: {drops}; recovered after: {load.recoveries}"
    )
