"""Closed-loop HTTP load: `wrk` with bench/wrk/tasks.lua when available (installed from
Debian if missing and we are root), else the multi-process Python generator."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.config import BENCH_DIR
from bench.worker import Worker


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ensure_wrk() -> str | None:
    """The path of `wrk`, installing Debian's package if possible."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("bench: installing wrk (apt-get install -y wrk)", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    if subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet).returncode != 0:  # type: ignore[call-overload]
        subprocess.run(["apt-get", "update"], **quiet)  # type: ignore[call-overload]
        subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet)  # type: ignore[call-overload]
    return shutil.which("wrk")


async def run_wrk(
    wrk: str, port: int, mode: str, tokens_file: Path, connections: int, seconds: float
) -> LoadResult:
    threads = max(1, min(2, connections))
    argv = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "--latency", "-s", str(BENCH_DIR / "wrk" / "tasks.lua"), f"http://127.0.0.1:{port}",
        "--", str(tokens_file), mode,
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    for line in out.decode().splitlines():
        if line.startswith("BENCH_JSON "):
            r = json.loads(line.removeprefix("BENCH_JSON "))
            secs = r["duration_us"] / 1e6
            errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
            return LoadResult(
                rps=r["requests"] / secs,
                p50_ms=r["p50_us"] / 1000,
                p99_ms=r["p99_us"] / 1000,
                max_ms=r["max_us"] / 1000,
                requests=r["requests"],
                errors=errors,
                seconds=secs,
            )
    raise RuntimeError(f"wrk gave no result:\n{out.decode()}\n{err.decode()}")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by the nearest-rank method; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def run_python(
    workers: list[Worker], port: int, mode: str, users: list[str], connections: int, seconds: float
) -> LoadResult:
    method = "POST" if mode == "write" else "GET"
    share = [connections // len(workers) + (i < connections % len(workers)) for i in range(len(workers))]
    replies = await asyncio.gather(
        *(
            w.call(
                "closed",
                port=port,
                method=method,
                path="/api/tasks",
                users=users,
                connections=n,
                seconds=seconds,
            )
            for w, n in zip(workers, share, strict=True)
            if n
        )
    )
    latencies = [v for r in replies for v in r["latencies_ms"]]
    secs = statistics.fmean(r["seconds"] for r in replies)
    return LoadResult(
        rps=len(latencies) / secs,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=0.0),
        requests=len(latencies),
        errors=sum(sum(r["errors"].values()) for r in replies),
        seconds=secs,
    )
