"""`python -m bench.hundred_k` — 100,000 live sockets through HAProxy to server processes in
network namespaces, a write rate on top, and a reconnect storm (bench/README.md).

Sizing (here each process may hold 20,000 open files, and root cannot raise that):
  * server processes: N / 12,500 (8 at 100,000), so that after one is killed the others
    still hold its sockets with room under the limit (14,300 each of 19,900);
  * HAProxy processes: N / 8,400 (12), since HAProxy holds two files per session (the
    client's and the server's); each runs the documented configuration
    (tests/hosts/haproxy.cfg, docs/deployment.md) on its own port, with every server;
  * load-generator processes: N / 12,500 (8), bench/hundred_k_client.py.

Phases: open N sockets (N / 4 users × 4), settle, read memory, ping every socket; writes
at `--rate` for `--seconds` to random users, every delivery timed from the write's send;
then, with the writes going on, SIGKILL one server process: its sockets come back
through HAProxy on the others with `since`, and the PostgreSQL work of the storm is the
bench database's pg_stat counters over the storm less the same counters' rate before it.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import math
import os
import random
import re
import signal
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import asyncpg

from bench import history, report, servers
from bench.config import DEFAULT_PG, HISTORY, ROOT, mint
from bench.httpclient import HttpConnection, get
from bench.hundred_k_net import (
    CLIENT_NETNS,
    LB_ADDRESS,
    LB_NETNS,
    SERVER_PORT,
    Network,
    in_netns,
    missing_prerequisite,
)
from bench.loadgen import task_body
from bench.report import Figure
from bench.servers import Proc, cpu_seconds, rss_kib, server_env
from bench.worker import Worker, child_setup, raise_nofile

HAPROXY_CONFIG = ROOT / "tests" / "hosts" / "haproxy.cfg"
SOCKETS_PER_SERVER = 12_500
SESSIONS_PER_HAPROXY = 8_400
SOCKETS_PER_WORKER = 12_500
PER_USER = 4
LB_FIRST_PORT = 9001
PG_SOCKET_DIR = "/var/run/postgresql"
BENCH = "100,000 sockets"


class NsWorker(Worker):
    """A bench worker started inside a network namespace."""

    def __init__(self, name: str, module: str, log_dir: Path, netns: str) -> None:
        super().__init__(name, module, log_dir)
        self.netns = netns

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    async def start(self, stack: AsyncExitStack) -> Worker:
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *in_netns(self.netns, [sys.executable, "-m", self.module]), cwd=ROOT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log, limit=1 << 28,
                preexec_fn=child_setup,
            )  # fmt: skip
        stack.push_async_callback(self.stop)
        return self


def haproxy_config(servers_: int, maxconn: int) -> str:
    """The documented configuration with `servers_` servers (TASKSYNC_HOST1…) instead of
    three, and two settings of this benchmark's own (see bench/README.md): a connection
    bound from this machine's open-file limit, one thread per process (there are a dozen
    processes on two cores), and health checks every 2 s instead of 500 ms (a dozen
    processes each checking every server would otherwise send ~200 /readyz a second)."""
    text = HAPROXY_CONFIG.read_text()
    lines = [line for line in text.splitlines() if not re.match(r"\s+server host\d+ ", line)]
    text = "\n".join(lines) + "\n"
    text = text.replace("global\n", f"global\n    maxconn {maxconn}\n    nbthread 1\n", 1)
    if "inter 500ms" not in text:
        raise RuntimeError("tests/hosts/haproxy.cfg no longer says `inter 500ms`: update bench/hundred_k.py")
    text = text.replace("inter 500ms", "inter 2s")
    text += "".join(f'    server host{n} "${{TASKSYNC_HOST{n}}}" check\n' for n in range(1, servers_ + 1))
    return text


async def wait_http(host: str, port: int, path: str, proc: Proc, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.proc is not None
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        try:
            status, _ = await asyncio.wait_for(get(host, port, path), 2)
            if status == 200:
                return
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{proc.name} not answering {path} after {within}s:\n{proc.tail()}")


async def open_sockets(address: str) -> int | None:
    """The server's `tasksync_open_sockets` (None: it did not answer within 60 s)."""
    try:
        status, body = await asyncio.wait_for(get(address, SERVER_PORT, "/metrics"), 60)
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return None
    match = re.search(rb"^tasksync_open_sockets (\S+)$", body, flags=re.M)
    return int(float(match[1])) if status == 200 and match is not None else None


async def pg_counters(admin_url: str, db: str) -> dict[str, int]:
    """The bench database's cumulative work so far (pg_stat_database, pg_stat_user_tables)."""
    conn = await asyncpg.connect(servers.with_database(admin_url, db))
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        row = await conn.fetchrow(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched FROM pg_stat_database "
            "WHERE datname = $1",
            db,
        )
        tables = await conn.fetch(
            "SELECT relname, coalesce(idx_scan, 0) + coalesce(seq_scan, 0) AS scans FROM pg_stat_user_tables"
        )
    finally:
        await conn.close()
    assert row is not None
    out = {k: int(row[k]) for k in ("xact_commit", "xact_rollback", "tup_returned", "tup_fetched")}
    out.update({f"scans_{t['relname']}": int(t["scans"]) for t in tables})
    return out


def _delta(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: b.get(k, 0) - a.get(k, 0) for k in b}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Writer:
    """Paced REST writes through HAProxy to random users; `sent[title]` = send time."""

    def __init__(self, ports: list[int], users: list[str], rate: float, seed: int = 1) -> None:
        self.ports, self.users, self.rate = ports, users, rate
        self.random = random.Random(seed)
        self.sent: dict[str, float] = {}
        self.user_of: dict[str, str] = {}
        self.ok = 0
        self.failed: dict[str, int] = {}
        self.unsent = 0
        self.latencies: list[float] = []
        self._n = 0
        self._headers = {u: {"Authorization": f"Bearer {mint(u, 24 * 3600)}",
                             "Content-Type": "application/json"} for u in users}  # fmt: skip

    async def run(self, stop: asyncio.Event, connections: int = 8) -> None:
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

        async def sender(k: int) -> None:
            port = self.ports[k % len(self.ports)]
            conn: HttpConnection | None = None
            while True:
                title, user = await queue.get()
                for _ in range(3):
                    try:
                        if conn is None or conn.closed:
                            conn = await HttpConnection.open(LB_ADDRESS, port)
                        self.sent[title] = time.time()
                        status, body = await asyncio.wait_for(
                            conn.request("POST", "/api/tasks", self._headers[user], task_body(title)), 30
                        )
                    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                        conn = None
                        self.failed[type(exc).__name__] = self.failed.get(type(exc).__name__, 0) + 1
                        continue
                    if status == 201:
                        self.ok += 1
                        self.latencies.append(time.time() - self.sent[title])
                        self.user_of[title] = user
                    else:
                        self.failed[str(status)] = self.failed.get(str(status), 0) + 1
                        self.sent.pop(title, None)
                    break
                else:
                    self.sent.pop(title, None)
                queue.task_done()

        tasks = [asyncio.create_task(sender(k)) for k in range(connections)]
        started = time.monotonic()
        try:
            while not stop.is_set():
                self._n += 1
                queue.put_nowait((f"hk-{self._n}", self.random.choice(self.users)))
                next_at = started + self._n / self.rate
                try:
                    await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))
                except TimeoutError:
                    pass
            # Writes still queued at the end are dropped, not waited for (counted in
            # `unsent`): a writer behind a storm can be minutes behind its rate.
            while not queue.empty():
                queue.get_nowait()
                queue.task_done()
                self.unsent += 1
            await asyncio.wait_for(queue.join(), 60)
        finally:
            for t in tasks:
                t.cancel()


class Run:
    def __init__(self, args: argparse.Namespace, log_dir: Path) -> None:
        n = args.sockets
        self.args, self.log_dir, self.n = args, log_dir, n
        self.servers_n = args.servers or max(3, math.ceil(n / SOCKETS_PER_SERVER))
        self.lb_n = args.haproxy or max(1, math.ceil(n / SESSIONS_PER_HAPROXY))
        self.workers_n = args.workers or max(2, math.ceil(n / SOCKETS_PER_WORKER))
        self.users = [f"hk-{i:06d}" for i in range(math.ceil(n / PER_USER))]
        self.raw: dict[str, Any] = {
            "sockets": n, "servers": self.servers_n, "haproxy_processes": self.lb_n,
            "client_processes": self.workers_n, "users": len(self.users), "per_user": PER_USER,
        }  # fmt: skip
        self.network = Network(self.servers_n)
        self.server_procs: list[Proc] = []
        self.lb_procs: list[Proc] = []
        self.ports = [LB_FIRST_PORT + k for k in range(self.lb_n)]
        self.workers: list[NsWorker] = []

    def say(self, text: str) -> None:
        print(f"hundred_k {time.strftime('%H:%M:%S')}: {text}", file=sys.stderr, flush=True)

    async def call_all(self, command: str, **args: Any) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(w.call(command, **args) for w in self.workers)))

    async def start(self, stack: AsyncExitStack, db_url: str) -> None:
        stack.callback(self.network.close)
        self.network.create()
        db_name = db_url.rsplit("/", 1)[1].split("?")[0]
        unix_url = f"postgresql+asyncpg://postgres@/{db_name}?host={PG_SOCKET_DIR}"
        for k, (netns, address) in enumerate(self.network.servers, 1):
            env = server_env(
                unix_url, SERVER_PORT, HOST=address, DB_POOL_SIZE=str(self.args.pool), DB_MAX_OVERFLOW="0",
                RATE_LIMIT_STREAM_OPENS="30/minute", FORWARDED_ALLOW_IPS=LB_ADDRESS,
            )  # fmt: skip
            proc = Proc(f"server-{k}", in_netns(netns, servers.server_argv(env)), env, self.log_dir)
            stack.push_async_callback(proc.stop)
            proc.start()
            self.server_procs.append(proc)
        for proc, (_, address) in zip(self.server_procs, self.network.servers, strict=True):
            await wait_http(address, SERVER_PORT, "/readyz", proc, within=120)
        self.say(f"{self.servers_n} servers ready")
        config = self.log_dir / "haproxy.cfg"
        config.write_text(haproxy_config(self.servers_n, maxconn=9_900))
        hosts = {
            f"TASKSYNC_HOST{n}": f"{a}:{SERVER_PORT}" for n, (_, a) in enumerate(self.network.servers, 1)
        }
        for k, port in enumerate(self.ports):
            env = {
                **os.environ, **hosts, "TASKSYNC_LB_BIND": f"{LB_ADDRESS}:{port}",
                "TASKSYNC_LB_ADMIN_SOCKET": str(self.log_dir / f"haproxy-{k}.sock"),
            }  # fmt: skip
            proc = Proc(
                f"haproxy-{k}", in_netns(LB_NETNS, ["haproxy", "-db", "-f", str(config)]), env, self.log_dir
            )
            stack.push_async_callback(proc.stop)
            proc.start()
            self.lb_procs.append(proc)
        for proc, port in zip(self.lb_procs, self.ports, strict=True):
            await wait_http(LB_ADDRESS, port, "/readyz", proc)
        self.say(f"{self.lb_n} HAProxy processes ready")
        for k in range(self.workers_n):
            w = NsWorker(f"client-{k}", "bench.hundred_k_client", self.log_dir, CLIENT_NETNS)
            await w.start(stack)
            self.workers.append(w)

    def save(self) -> None:
        """The raw numbers so far to `--raw` (kept if a later phase fails)."""
        if self.args.raw:
            self.args.raw.write_text(json.dumps(self.raw, indent=1, default=str))

    def cpu(self) -> list[float]:
        """CPU seconds so far: servers, HAProxy processes, load generators (in that order)."""
        pids = [p.pid for p in self.server_procs + self.lb_procs] + [w.pid for w in self.workers]
        return [cpu_seconds(pid) for pid in pids]

    def rss(self) -> tuple[int, int]:
        """KiB: every live server process, every HAProxy process."""
        srv = sum(rss_kib(p.pid) for p in self.server_procs if p.proc and p.proc.poll() is None)
        return srv, sum(rss_kib(p.pid) for p in self.lb_procs)

    async def open_phase(self) -> None:
        # Warm: a few sockets opened and closed (imports, pools, allocator), then "before".
        warm = [(self.ports[i % self.lb_n], self.users[i % len(self.users)]) for i in range(min(400, self.n))]
        await asyncio.gather(*(w.call("open", host=LB_ADDRESS, targets=warm[k :: self.workers_n])
                               for k, w in enumerate(self.workers)))  # fmt: skip
        await self.call_all("close")
        await asyncio.sleep(self.args.settle)
        srv0, lb0 = self.rss()
        targets: list[list[list[Any]]] = [[] for _ in self.workers]
        for i in range(self.n):
            # A user's 4 sockets: 4 load generators, 4 HAProxy processes, as 4 devices would.
            targets[i % self.workers_n].append(
                [self.ports[(i // self.workers_n) % self.lb_n], self.users[i // PER_USER]]
            )
        started = time.monotonic()
        opened = await asyncio.gather(*(w.call("open", host=LB_ADDRESS, targets=t, within=120)
                                        for w, t in zip(self.workers, targets, strict=True)))  # fmt: skip
        seconds = time.monotonic() - started
        total = sum(int(r["opened"]) for r in opened)
        self.say(f"opened {total:,} sockets in {seconds:.0f}s")
        idle0, t_idle0 = self.cpu(), time.monotonic()
        await asyncio.sleep(self.args.settle)
        idle = [(b - a) / (time.monotonic() - t_idle0) for a, b in zip(idle0, self.cpu(), strict=True)]
        srv1, lb1 = self.rss()
        per_server = [await open_sockets(a) for _, a in self.network.servers]
        started = time.monotonic()
        pings = await self.call_all("ping", within=120)
        ping_seconds = time.monotonic() - started
        alive = sum(int(p["alive"]) for p in pings)
        self.say(f"{alive:,} of {total:,} answered a ping in {ping_seconds:.1f}s; per server {per_server}")
        if None in per_server:
            raise RuntimeError(f"a server did not report its sockets: {per_server}")
        self.raw["open"] = {
            "opened": total, "seconds": seconds, "errors": [r["errors"] for r in opened],
            "retried": sum(int(r["retried"]) for r in opened), "per_server": per_server,
            "alive": alive, "ping_seconds": ping_seconds,
            "idle_cpu_busy": {"servers": sum(idle[: self.servers_n]),
                              "haproxy": sum(idle[self.servers_n : self.servers_n + self.lb_n]),
                              "load_generators": sum(idle[self.servers_n + self.lb_n :])},
            "server_rss_before_kib": srv0, "server_rss_kib": srv1,
            "haproxy_rss_before_kib": lb0, "haproxy_rss_kib": lb1,
            "server_rss_each_kib": [rss_kib(p.pid) for p in self.server_procs],
            "haproxy_rss_each_kib": [rss_kib(p.pid) for p in self.lb_procs],
        }  # fmt: skip
        self.save()
        self.say(f"open: {json.dumps(self.raw['open'])}")

    async def write_phase(self, writer: Writer) -> None:
        await self.call_all("record", on=True)
        cpu0 = [cpu_seconds(p.pid) for p in self.server_procs + self.lb_procs]
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop))
        started = time.monotonic()
        await asyncio.sleep(self.args.seconds)
        stop.set()
        await task
        elapsed = time.monotonic() - started
        cpu1 = [cpu_seconds(p.pid) for p in self.server_procs + self.lb_procs]
        await asyncio.sleep(min(3.0, self.args.settle))
        reports = await self.call_all("deliveries")
        await self.call_all("record", on=False)
        latencies = [
            (arrived - writer.sent[title]) * 1000
            for r in reports for title, arrived in r["deliveries"] if title in writer.sent
        ]  # fmt: skip
        expected = writer.ok * PER_USER
        busy = [(b - a) / elapsed for a, b in zip(cpu0, cpu1, strict=True)]
        self.raw["writes"] = {
            "seconds": elapsed, "rate": self.args.rate, "writes_ok": writer.ok, "failed": writer.failed,
            "unsent": writer.unsent,
            "deliveries": len(latencies), "expected": expected,
            "p50_ms": _pct(latencies, 0.5), "p99_ms": _pct(latencies, 0.99),
            "max_ms": max(latencies, default=0),
            "write_p50_ms": _pct(writer.latencies, 0.5) * 1000,
            "write_p99_ms": _pct(writer.latencies, 0.99) * 1000,
            "gaps": sum(r["gaps"] for r in reports), "duplicated": sum(r["duplicated"] for r in reports),
            "servers_cpu_busy": sum(busy[: self.servers_n]),
            "haproxy_cpu_busy": sum(busy[self.servers_n :]),
        }  # fmt: skip
        self.save()
        self.say(f"writes: {json.dumps({k: v for k, v in self.raw['writes'].items() if k != 'failed'})}")

    async def storm_phase(self, writer: Writer | None, db: str) -> None:
        """`writer` None: no writes during the storm, so that PostgreSQL's counters over
        it (less its idle rate after it) are the storm's own work."""
        pg = self.args.pg
        await self.call_all("mark")
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop) if writer is not None else stop.wait())
        # With writes going every pool connection is busy and flushes its counters every
        # second; an idle backend flushes them within PostgreSQL's 10-s idle interval.
        flushed = min(3.0, self.args.settle) if writer is not None else 11.0
        await asyncio.sleep(max(flushed, min(5.0, self.args.settle)))
        victim = self.server_procs[0]
        victim_sockets = self.raw["open"]["per_server"][0]
        storm0 = await pg_counters(pg, db)
        killed_at, t_kill = time.time(), time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        self.say(f"killed server-1 (pid {victim.pid}, {victim_sockets:,} sockets)")
        done_at: float | None = None
        rows: list[list[Any]] = []
        timeline: list[list[float]] = []  # seconds since the kill, sockets lost, back, caught up
        while time.monotonic() - t_kill < self.args.storm_timeout:
            await asyncio.sleep(0.5)
            got = await self.call_all("outages")
            rows = [row for g in got for row in g["rows"]]
            back = sum(1 for r in rows if r[2] is not None)
            timeline.append([time.monotonic() - t_kill, len(rows), sum(1 for r in rows if r[1]), back])
            if rows and back == len(rows) and len(rows) >= victim_sockets * 0.99:
                done_at = max(r[2] for r in rows)
                break
        t_done = time.monotonic()
        self.say(f"storm: {len(rows):,} sockets lost, caught up: {done_at is not None}")
        await asyncio.sleep(flushed)
        storm1, t_storm1 = await pg_counters(pg, db), time.monotonic()
        # The baseline: the same writes (or none) on the processes left, after the storm.
        await asyncio.sleep(self.args.baseline)
        base1, t_base1 = await pg_counters(pg, db), time.monotonic()
        base0, t_base0 = storm1, t_storm1
        stop.set()
        await task
        got = await self.call_all("outages")
        rows = [row for g in got for row in g["rows"]]
        base_rate = {k: v / (t_base1 - t_base0) for k, v in _delta(base0, base1).items()}
        window = t_storm1 - t_kill
        raw_delta = _delta(storm0, storm1)
        excess = {k: raw_delta[k] - base_rate.get(k, 0) * window for k in raw_delta}
        lost = len(rows)
        reconnect = [r[1] - r[0] for r in rows if r[1] is not None]
        caught = [r[2] - killed_at for r in rows if r[2] is not None]
        per_server = [await open_sockets(a) for _, a in self.network.servers[1:]]
        pings = await self.call_all("ping", within=120)
        self.raw["storm"] = {
            "victim_sockets": victim_sockets, "lost": lost, "reconnected": len(reconnect),
            "caught_up": len(caught),
            "all_caught_seconds": (done_at - killed_at) if done_at else None,
            "caught_p50_s": _pct(caught, 0.5), "caught_p99_s": _pct(caught, 0.99),
            "reconnect_p50_s": _pct(reconnect, 0.5), "reconnect_max_s": max(reconnect, default=0),
            "resyncs": sum(int(g["resyncs"]) for g in got),
            "reconnect_failures": [g["failures"] for g in got],
            "window_seconds": window, "poll_seconds": t_done - t_kill,
            "pg_baseline_per_second": base_rate, "pg_window_delta": raw_delta, "pg_excess": excess,
            "xacts_per_socket": (excess["xact_commit"] + excess["xact_rollback"]) / max(lost, 1),
            "per_server_after": per_server, "alive_after": sum(int(p["alive"]) for p in pings),
            "timeline": timeline[::4], "server_warnings": self.warnings(),
            "writes_during": {
                "rate": writer.rate if writer else 0, "ok": writer.ok if writer else 0,
                "failed": writer.failed if writer else {}, "unsent": writer.unsent if writer else 0,
            },
        }  # fmt: skip
        self.save()
        self.say(f"storm: {json.dumps(self.raw['storm'])}")

    def warnings(self) -> dict[str, int]:
        """The servers' warning and error log lines by message (numbers masked), e.g. a
        change listener given up under load, which ends its streams to resume elsewhere."""
        counts: dict[str, int] = {}
        for proc in self.server_procs:
            for line in proc.log_path.read_text(errors="replace").splitlines():
                if '"level":"warning"' in line or '"level":"error"' in line:
                    try:
                        message = re.sub(r"[0-9.]+", "N", str(json.loads(line).get("message", ""))[:80])
                    except ValueError:
                        continue
                    counts[message] = counts.get(message, 0) + 1
        return counts

    def figures(self) -> list[Figure]:
        o, w, s = self.raw["open"], self.raw["writes"], self.raw["storm"]
        n = int(o["opened"])
        bench = f"{n:,} sockets through {self.lb_n} HAProxy to {self.servers_n} server processes"

        def per_socket_kb(kib: int) -> float:
            return kib * 1024 / 1000 / n

        lost = w["expected"] - w["deliveries"]
        faults = lost + w["gaps"] + w["duplicated"]
        reconnecting = max(s["lost"], 1)
        xacts = s["pg_excess"]["xact_commit"] + s["pg_excess"]["xact_rollback"]
        reads = s["pg_excess"].get("scans_events", 0) / reconnecting
        storm = s["all_caught_seconds"]
        unfinished = None
        if storm is None:
            unfinished = (
                f"not within {self.args.storm_timeout:g} s: {s['caught_up']:,} of {s['lost']:,} caught up"
            )
        return [
            Figure(bench, "sockets held and answering a ping", o["alive"], n, "", "all",
                   o["alive"] == self.n),
            Figure(bench, "server RSS per socket (all server RSS / sockets)",
                   per_socket_kb(o["server_rss_kib"]), None, "KB"),
            Figure(bench, "server memory per socket (RSS growth / sockets)",
                   per_socket_kb(o["server_rss_kib"] - o["server_rss_before_kib"]), None, "KB"),
            Figure(bench, "HAProxy RSS per socket (all HAProxy RSS / sockets)",
                   per_socket_kb(o["haproxy_rss_kib"]), None, "KB"),
            Figure(bench, f"write → socket p50 ({w['rate']:g} writes/s, {PER_USER} sockets each)",
                   w["p50_ms"], None, "ms"),
            Figure(bench, "write → socket p99", w["p99_ms"], None, "ms"),
            Figure(bench, "lost / duplicated / out-of-order deliveries", faults, None, "", "0", faults == 0,
                   text=f"{lost} / {w['duplicated']} / {w['gaps']}"),
            Figure(bench, f"storm: {s['victim_sockets']:,} sockets of a killed process, back and caught up"
                   f" ({s['writes_during']['rate']:g} writes/s during it)",
                   storm if storm is not None else self.args.storm_timeout, None, "s", text=unfinished),
            Figure(bench, "storm: sockets that lost their connection (the killed process's and others')",
                   s["lost"], None, ""),
            Figure(bench, "storm: PostgreSQL transactions above baseline per socket lost",
                   s["xacts_per_socket"], None, ""),
            Figure(bench, "storm: event-log reads above baseline per socket lost", reads, None, "",
                   text=f"{reads:.2f} ({xacts:,.0f} transactions in all)"),
            Figure(bench, "storm: resync messages", s["resyncs"], None, "", "0", s["resyncs"] == 0),
        ]  # fmt: skip


# One run on a machine at a time: its namespaces and subnet are fixed names. The kernel
# drops the lock of a run that died, whose leftovers the next run then removes.
LOCK = Path(tempfile.gettempdir()) / "tasksync-hundred-k.lock"


async def run(args: argparse.Namespace, log_dir: Path) -> tuple[list[Figure], dict[str, Any]]:
    r = Run(args, log_dir)
    async with AsyncExitStack() as stack:
        lock = stack.enter_context(LOCK.open("a"))
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        db = await stack.enter_async_context(servers.database(args.pg, "hundredk", log_dir))
        db_name = db.rsplit("/", 1)[1].split("?")[0]
        await r.start(stack, db)
        await r.open_phase()
        writer = Writer(r.ports, r.users, args.rate)
        await r.write_phase(writer)
        storm_writer = None
        if args.storm_rate == args.rate:
            storm_writer = writer
        elif args.storm_rate > 0:
            storm_writer = Writer(r.ports, r.users, args.storm_rate)
        await r.storm_phase(storm_writer, db_name)
        await r.call_all("close")
    return r.figures(), r.raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hundred_k",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sockets", type=int, default=100_000, help="sockets in all (4 per user)")
    parser.add_argument(
        "--servers", type=int, help=f"server processes (default: sockets / {SOCKETS_PER_SERVER:,}, ≥ 3)"
    )
    parser.add_argument(
        "--haproxy", type=int, help=f"HAProxy processes (default: sockets / {SESSIONS_PER_HAPROXY:,})"
    )
    parser.add_argument(
        "--workers", type=int, help=f"load generators (default: sockets / {SOCKETS_PER_WORKER:,})"
    )
    parser.add_argument(
        "--pool", type=int, default=4, help="DB_POOL_SIZE of each server (PostgreSQL allows 100)"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="writes per second on top")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of the measured writes")
    parser.add_argument(
        "--storm-rate", type=float, help="writes per second during the storm (default: --rate; 0: none)"
    )
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds between opening and reading memory"
    )
    parser.add_argument(
        "--baseline", type=float, default=20.0, help="seconds of PostgreSQL counters before the kill"
    )
    parser.add_argument(
        "--storm-timeout", type=float, default=600.0, help="seconds to wait for the storm's end"
    )
    parser.add_argument("--pg", default=DEFAULT_PG, help="a superuser URL ($TASKSYNC_BENCH_PG)")
    parser.add_argument(
        "--history", type=Path, default=HISTORY, help="append the figures here (one JSON line)"
    )
    parser.add_argument("--raw", type=Path, help="write the raw numbers here (JSON)")
    args = parser.parse_args(argv)
    if args.storm_rate is None:
        args.storm_rate = args.rate
    problem = missing_prerequisite()
    if problem:
        print(f"bench.hundred_k: {problem}", file=sys.stderr)
        return 2
    raise_nofile()
    log_dir = Path(tempfile.mkdtemp(prefix="tasksync-hundred-k-"))
    meta = report.machine(args.pg, None)
    meta["launcher"] = servers.launcher_text()
    meta["command"] = "python -m bench.hundred_k " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        figures, raw = asyncio.run(run(args, log_dir))
    except BaseException:
        print(f"bench.hundred_k: failed; process logs kept in {log_dir}", file=sys.stderr)
        raise
    print(report.table(figures))
    if args.raw:
        args.raw.write_text(json.dumps(raw, indent=1, default=str))
    history.append(args.history, meta, figures, f"hundred-k-{args.sockets}")
    print(f"bench.hundred_k: figures appended to {args.history}; logs in {log_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
