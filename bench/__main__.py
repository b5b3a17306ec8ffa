"""`python -m bench` — run the benchmarks against PostgreSQL on this machine and print
one markdown table (each figure, its ceiling measured in the same run, the ratio,
the target and PASS/MISS); the table and the raw numbers also go to
bench/results/latest.md and latest.json, and the figures are appended as one JSON line to
bench/results.jsonl (committed: the benchmarks' history).

python -m bench                     # everything, at the issue's sizes (a few minutes)
python -m bench --quick             # everything, shrunk: a smoke run
python -m bench --only fanout       # one benchmark (repeatable)
python -m bench --profile           # REST: + a py-spy round per side: per-request CPU breakdown
python -m bench --launcher uvicorn   # servers as `uvicorn server.app:app` + flags, not `serve`
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import history, report, servers
from bench.config import BENCHMARKS, DEFAULT_PG, HISTORY, RESULTS_DIR, SIZES, Context
from bench.fairness import run_fairness
from bench.fanout import run_fanout
from bench.generators import ensure_wrk
from bench.hosts import run_hosts
from bench.idle import run_idle
from bench.profile import py_spy
from bench.report import Figure
from bench.rest import run_rest
from bench.worker import raise_nofile


async def run_all(ctx: Context, selected: list[str]) -> list[Figure]:
    figures: list[Figure] = []
    rest = [
        name.removeprefix("rest-") for name in BENCHMARKS if name.startswith("rest-") and name in selected
    ]
    steps: list[tuple[str, Callable[[], Awaitable[list[Figure]]]]] = []
    if rest:
        steps.append(("rest", lambda: run_rest(ctx, rest)))
    if "fanout" in selected:
        steps.append(("fanout", lambda: run_fanout(ctx)))
    if "idle" in selected:
        steps.append(("idle", lambda: run_idle(ctx)))
    if "fairness" in selected:
        steps.append(("fairness", lambda: run_fairness(ctx)))
    if "hosts" in selected:
        steps.append(("hosts", lambda: run_hosts(ctx)))
    for name, step in steps:
        started = time.monotonic()
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        figures += await step()
        print(f"bench: {name} done in {time.monotonic() - started:.0f}s", file=sys.stderr, flush=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="size", help="shrink everything")
    size.add_argument("--tiny", action="store_const", const="tiny", dest="size", help="the smoke test's size")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only this benchmark")
    parser.add_argument("--pg", default=DEFAULT_PG, help="a superuser URL ($TASKSYNC_BENCH_PG)")
    parser.add_argument(
        "--loadgen", choices=["auto", "wrk", "python"], default="auto",
        help="REST load generator: wrk (installed if missing), or the Python fallback",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where latest.md/.json go")
    parser.add_argument(
        "--history", type=Path, default=HISTORY,
        help="the file this run's figures are appended to, one JSON line (default: bench/results.jsonl)",
    )  # fmt: skip
    parser.add_argument("--connections", type=int, help="REST concurrency (default: 100; 4 with --tiny)")
    parser.add_argument(
        "--profile", action="store_true",
        help="REST: one more round per side under py-spy, split into a per-request CPU breakdown",
    )  # fmt: skip
    parser.add_argument(
        "--launcher", choices=servers.LAUNCHERS, default="serve",
        help="start Tasksync servers as `python -m server serve` or `uvicorn server.app:app` + flags",
    )  # fmt: skip
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for every server process (e.g. DB_POOL_SIZE=30), to try a change",
    )  # fmt: skip
    args = parser.parse_args(argv)

    raise_nofile()
    for item in args.server_env:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--server-env wants NAME=VALUE, not {item!r}")
        servers.OVERRIDES[name] = value
    servers.LAUNCHER = args.launcher
    if args.profile and py_spy() is None:
        parser.error("--profile needs py-spy (pip install py-spy; it is in the dev extras)")
    wrk = None if args.loadgen == "python" else ensure_wrk()
    if args.loadgen == "wrk" and wrk is None:
        parser.error("wrk is not installed and could not be installed")
    if wrk is None and args.loadgen == "auto":
        print("bench: wrk unavailable; using the Python load generator", file=sys.stderr)
    log_dir = Path(tempfile.mkdtemp(prefix="tasksync-bench-"))
    profile_dir = args.out / "profiles" if args.profile else None
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
    sizes = SIZES[args.size or "full"]
    if args.connections:
        sizes = dataclasses.replace(sizes, rest_connections=args.connections)
    ctx = Context(sizes, args.pg, log_dir, wrk, profile_dir)
    selected = args.only or list(BENCHMARKS)
    meta = report.machine(args.pg, wrk)
    meta["launcher"] = servers.launcher_text()
    try:
        figures = asyncio.run(run_all(ctx, selected))
    except BaseException:
        print(f"bench: failed; process logs kept in {log_dir}", file=sys.stderr)
        raise
    shutil.rmtree(log_dir, ignore_errors=True)
    print(report.write(args.out, meta, figures, ctx.raw, ctx.sizes.name))
    history.append(args.history, meta, figures, ctx.sizes.name)
    print(f"bench: figures appended to {args.history}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
