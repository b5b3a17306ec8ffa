"""Three server processes behind HAProxy, for sizing: sockets held across the three, and
write → socket latency through the load balancer against straight to a process, in the
same run.

A simpler variant of tests/hosts (no network namespaces): 3 `python -m server serve`
processes on 127.0.0.1, each its own port, standing for three hosts, and Debian's HAProxy
on loopback running tests/hosts/haproxy.cfg itself (docs/deployment.md's configuration). Two
groups of users, each user with 3 sockets: the "through HAProxy" group's sockets and
writes all go to HAProxy's port (leastconn spreads the sockets); the "direct" group has
one socket on each process and its writes go round-robin straight to the processes.
Both groups get the same paced writes at the same time (one writer process each); every
delivery is checked (lost, duplicated, reordered) and timed from the moment the writer
sent its REST request to the event's arrival on the user's socket, as in
bench/fanout.py. Then 3 × `idle_sockets` more idle sockets are opened through HAProxy,
and every socket the three processes hold must answer a ping."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import time
from contextlib import AsyncExitStack
from typing import Any

from bench.config import ROOT, Context
from bench.fanout import analyse
from bench.httpclient import get
from bench.report import Figure
from bench.servers import Proc, cpu_seconds, database, free_port, rss_kib, start_server
from bench.worker import start_workers

HAPROXY_CONFIG = ROOT / "tests" / "hosts" / "haproxy.cfg"
PROCESSES = 3
SOCKETS_PER_USER = 3
SOCKET_WORKERS = 2
IDLE_PER_PROCESS_FACTOR = 3  # idle sockets through HAProxy: 3 × the idle benchmark's count
BENCH = "Through HAProxy, 3 server processes"


def _haproxy_path() -> str | None:
    found = shutil.which("haproxy") or "/usr/sbin/haproxy"
    return found if os.path.exists(found) else None


async def _haproxy(stack: AsyncExitStack, ctx: Context, ports: list[int]) -> tuple[Proc, int]:
    haproxy = _haproxy_path()
    assert haproxy is not None
    port = free_port()
    env = {
        **os.environ,
        "TASKSYNC_LB_BIND": f"127.0.0.1:{port}",
        "TASKSYNC_LB_ADMIN_SOCKET": str(ctx.log_dir / "haproxy-admin.sock"),
        **{f"TASKSYNC_HOST{n}": f"127.0.0.1:{p}" for n, p in enumerate(ports, 1)},
    }
    proc = Proc("haproxy", [haproxy, "-db", "-f", str(HAPROXY_CONFIG)], env, ctx.log_dir)
    stack.push_async_callback(proc.stop)
    proc.start()
    deadline = time.monotonic() + 20
    while True:
        try:
            # Every process up in HAProxy: /readyz answers through it from each in turn.
            answers = [(await asyncio.wait_for(get("127.0.0.1", port, "/readyz"), 2))[0] for _ in ports]
            if answers == [200] * len(ports):
                await asyncio.sleep(1.5)  # two passed checks (rise 2, inter 500ms) for each
                return proc, port
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"haproxy not serving:\n{proc.tail()}")
        await asyncio.sleep(0.2)


async def _open_sockets(port: int) -> int:
    status, body = await asyncio.wait_for(get("127.0.0.1", port, "/metrics"), 30)
    match = re.search(rb"^tasksync_open_sockets (\S+)$", body, flags=re.M)
    if status != 200 or match is None:
        raise RuntimeError(f"no tasksync_open_sockets on {port}: {status}")
    return int(float(match[1]))


async def run_hosts(ctx: Context) -> list[Figure]:
    if _haproxy_path() is None:
        print("bench: hosts skipped: haproxy is not installed (apt-get install haproxy)", file=sys.stderr)
        return []
    s = ctx.sizes
    users_per_side = max(2, s.fanout_users)
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(database(ctx.pg, "hosts", ctx.log_dir))
        servers = [await start_server(stack, f"server-hosts-{i}", db, ctx.log_dir) for i in range(PROCESSES)]
        ports = [srv.port for srv in servers]
        haproxy, lb_port = await _haproxy(stack, ctx, ports)
        socks = await start_workers(stack, "bench.sockets", SOCKET_WORKERS, ctx.log_dir)
        sides: dict[str, tuple[set[int], list[str], list[list[Any]]]] = {}
        direct_users = [f"hd-{i:05d}" for i in range(users_per_side)]
        lb_users = [f"hl-{i:05d}" for i in range(users_per_side)]
        sides["direct"] = (set(ports), direct_users, [[p, u] for u in direct_users for p in ports])
        sides["haproxy"] = (
            {lb_port},
            lb_users,
            [[lb_port, u] for u in lb_users for _ in range(SOCKETS_PER_USER)],
        )
        held = 0

        async def open_all(targets: list[list[Any]]) -> None:
            nonlocal held
            opened = await asyncio.gather(
                *(w.call("open", host="127.0.0.1", path="/api/ws", targets=targets[k::SOCKET_WORKERS])
                  for k, w in enumerate(socks))
            )  # fmt: skip
            held += len(targets)
            if sum(o["opened"] for o in opened) != held:
                raise RuntimeError(f"opened {[o['opened'] for o in opened]} of {held} sockets: {opened}")

        await open_all(sides["direct"][2])
        await asyncio.sleep(s.settle_seconds)
        rss = [rss_kib(haproxy.pid)]
        await open_all(sides["haproxy"][2])
        await asyncio.sleep(s.settle_seconds)
        rss.append(rss_kib(haproxy.pid))

        # Both groups' writes at once, so that both see the same machine.
        writers = await start_workers(stack, "bench.loadgen", 2, ctx.log_dir)
        plan = (("direct", ports), ("haproxy", [lb_port]))
        watched = [*(srv.pid for srv in servers), haproxy.pid]
        cpu = [cpu_seconds(pid) for pid in watched]
        started = time.monotonic()
        done = await asyncio.gather(
            *(
                w.call(
                    "paced",
                    ports=write_ports,
                    users=sides[side][1],
                    # Half the fan-out benchmark's rate each: the same total.
                    rate=s.fanout_rate / 2,
                    seconds=s.fanout_seconds,
                    connections=max(1, 48 // len(write_ports)),
                )
                for w, (side, write_ports) in zip(writers, plan, strict=True)
            )
        )
        elapsed = time.monotonic() - started
        busy = [(cpu_seconds(pid) - c) / elapsed for pid, c in zip(watched, cpu, strict=True)]
        written: dict[str, dict[str, Any]] = {side: d for (side, _), d in zip(plan, done, strict=True)}
        expected = [0] * SOCKET_WORKERS
        for side, (_ports, users, targets) in sides.items():
            per_user: dict[str, int] = {}
            for w in written[side]["writes"]:
                if w[5] == 201:
                    per_user[users[w[1]]] = per_user.get(users[w[1]], 0) + 1
            for k in range(SOCKET_WORKERS):
                expected[k] += sum(per_user.get(u, 0) for _p, u in targets[k::SOCKET_WORKERS])
        for w, total in zip(socks, expected, strict=True):
            await w.call("wait_total", total=total, within=30)
        await asyncio.sleep(0.5)  # duplicates, if any, arrive too
        reports = [await w.call("report") for w in socks]

        # Then idle sockets through HAProxy on top, to see how many the three hold (the
        # latency above is measured without them: with 2,000 more idle sockets per process
        # on 2 shared cores its tail was the machine's, not the load balancer's). HAProxy
        # sizes its maxconn from its open-file limit (two descriptors per socket): 9,984
        # under a 20,000 limit; sockets beyond it wait unanswered in its queue.
        idle = [[lb_port, f"hi-{i:05d}"] for i in range(IDLE_PER_PROCESS_FACTOR * s.idle_sockets)]
        rss.append(rss_kib(haproxy.pid))
        await open_all(idle)
        await asyncio.sleep(s.settle_seconds)
        rss.append(rss_kib(haproxy.pid))
        pinged = [await w.call("ping") for w in socks]
        alive = sum(int(p["alive"]) for p in pinged)
        per_process = [await _open_sockets(p) for p in ports]
        lb_sockets = len(sides["haproxy"][2]) + len(idle)

    results: dict[str, Any] = {}
    for side, (side_ports, users, targets) in sides.items():
        mine = [[sock for sock in r["sockets"] if sock[1] in side_ports] for r in reports]
        results[side] = analyse(written[side]["writes"], users, mine)
        results[side].update(written_seconds=written[side]["seconds"], sockets=len(targets))
    result = {
        **results,
        "per_process_sockets": per_process,
        "cpu_busy": busy,  # the 3 processes, then HAProxy, while both groups wrote
        "idle_through_haproxy": len(idle),
        "sockets_answering_ping": alive,
        "sockets_held": held,
        "haproxy_rss_kib": rss,  # before/after the live sockets, before/after the idle ones
        # KiB → KB (1,000 bytes), as bench/idle.py reports.
        "haproxy_kb_per_socket": (rss[1] - rss[0] + rss[3] - rss[2]) * 1024 / 1000 / lb_sockets,
    }
    ctx.raw["hosts"] = result
    return _figures(result)


def _figures(r: dict[str, Any]) -> list[Figure]:
    lb, direct = r["haproxy"], r["direct"]
    faults = {
        side: max(x["lost"], x["gaps"]) + x["duplicated"] + x["reordered"] + x["sockets_closed"]
        for side, x in (("haproxy", lb), ("direct", direct))
    }
    sockets = r["sockets_held"]
    per_process = " / ".join(f"{n:,}" for n in r["per_process_sockets"])
    return [
        Figure(
            BENCH,
            "sockets held across the 3 processes, answering a ping",
            r["sockets_answering_ping"],
            None,
            "",
            "all",
            r["sockets_answering_ping"] == sockets,
            text=f"{r['sockets_answering_ping']:,} of {sockets:,} ({per_process} per process): "
            f"{lb['sockets']:,} live + {r['idle_through_haproxy']:,} idle through HAProxy, "
            f"{direct['sockets']:,} live direct",
        ),  # fmt: skip
        Figure(
            BENCH,
            "HAProxy memory per socket held",
            r["haproxy_kb_per_socket"],
            None,
            "KB",
        ),  # fmt: skip
        Figure(
            BENCH,
            "p50 latency, REST request sent → other socket (ceiling: direct)",
            lb["p50_ms"],
            direct["p50_ms"],
            "ms",
        ),  # fmt: skip
        Figure(BENCH, "p99 latency (ceiling: direct)", lb["p99_ms"], direct["p99_ms"], "ms"),
        Figure(BENCH, "max latency (ceiling: direct)", lb["max_ms"], direct["max_ms"], "ms"),
        Figure(
            BENCH,
            "write's own p50, request → 201 (ceiling: direct)",
            lb["write_p50_ms"],
            direct["write_p50_ms"],
            "ms",
        ),  # fmt: skip
        Figure(BENCH, "write's own p99 (ceiling: direct)", lb["write_p99_ms"], direct["write_p99_ms"], "ms"),
        Figure(
            BENCH,
            "lost / duplicated / reordered, through HAProxy and direct",
            faults["haproxy"] + faults["direct"],
            None,
            "",
            "0",
            faults["haproxy"] + faults["direct"] == 0 and lb["deliveries"] > 0 and direct["deliveries"] > 0,
            text=f"{max(lb['lost'], lb['gaps'])} / {lb['duplicated']} / {lb['reordered']} and "
            f"{max(direct['lost'], direct['gaps'])} / {direct['duplicated']} / {direct['reordered']}",
        ),  # fmt: skip
        Figure(
            BENCH,
            "deliveries (writes/s)",
            lb["deliveries"] + direct["deliveries"],
            None,
            "",
            text=f"{lb['deliveries']:,} through HAProxy, {direct['deliveries']:,} direct "
            f"({lb['writes_ok'] / lb['written_seconds']:.0f}/s each); CPU busy: processes "
            + " / ".join(f"{c:.0%}" for c in r["cpu_busy"][:-1])
            + f", HAProxy {r['cpu_busy'][-1]:.0%}",
        ),  # fmt: skip
    ]
