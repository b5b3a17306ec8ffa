"""Benchmark sizes (full, --quick, --tiny), the shared secret, and token minting."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
# Committed: every run appends its figures here (bench/history.py).
HISTORY = BENCH_DIR / "results.jsonl"
SECRET = "tasksync-bench-secret-" + "b" * 32
DEFAULT_PG = os.environ.get("TASKSYNC_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCHMARKS = ("rest-read", "rest-write", "fanout", "idle", "fairness", "hosts")


@dataclass(frozen=True)
class Sizes:
    name: str
    # REST read/write: users × tasks seeded, concurrent connections, seconds per round.
    rest_users: int = 1000
    rest_tasks: int = 20
    rest_connections: int = 100
    rest_seconds: float = 10.0
    rest_warmup_seconds: float = 3.0
    rest_rounds: int = 4
    # Fan-out: users with one socket on each server process, REST writes per second,
    # seconds per side (the ceiling's round, then the server's).
    fanout_users: int = 400
    fanout_servers: int = 2
    fanout_rate: float = 100.0
    fanout_seconds: float = 20.0
    probe_rate: float = 50.0
    # Idle sockets on one process (users × 2), and one user's event to many sockets.
    idle_sockets: int = 2_000
    # ... and the "20,000 idle sockets on one process hold and answer pings"
    # (0: not run; it takes about a minute and 1 GB).
    many_idle_sockets: int = 20_000
    burst_sockets: int = 10_000
    burst_events: int = 5
    socket_workers: int = 4
    settle_seconds: float = 3.0
    # Fairness: seconds per phase, victims (users at once, for more samples per phase),
    # each one's creates (and reads) per second — half its write budget — and each
    # flood's connections: its write budget over 32, an expired token retried on 8,
    # sockets sending messages, connections never reading (and the tasks of ~40 KB
    # its largest pages are made of).
    # Rounds: each flood runs this many times, each time from a fresh flooding user,
    # each after a phase alone; a figure is the p99 over every round's samples (one
    # round of 200 samples puts a p99 on its second-slowest sample).
    fairness_rounds: int = 8
    fairness_seconds: float = 10.0
    fairness_victims: int = 4
    fairness_rate: float = 5.0
    fairness_flood_connections: int = 32
    fairness_token_connections: int = 8
    fairness_socket_connections: int = 16
    fairness_unread_connections: int = 20
    fairness_unread_tasks: int = 500
    # What the absolute targets are stated for (scaled-down runs say "n/a").
    full_size: bool = True


FULL = Sizes("full")
QUICK = Sizes(
    "quick",
    rest_users=200,
    rest_seconds=3.0,
    rest_warmup_seconds=1.0,
    rest_rounds=1,
    fanout_users=200,
    fanout_rate=100.0,
    fanout_seconds=5.0,
    idle_sockets=1000,
    many_idle_sockets=0,
    burst_sockets=1000,
    burst_events=3,
    socket_workers=2,
    settle_seconds=1.0,
    fairness_rounds=1,
    fairness_seconds=4.0,
    fairness_victims=2,
    fairness_flood_connections=16,
    full_size=False,
)
TINY = Sizes(
    "tiny",
    rest_users=10,
    rest_tasks=3,
    rest_connections=4,
    rest_seconds=1.0,
    rest_warmup_seconds=0.3,
    rest_rounds=1,
    fanout_users=10,
    fanout_rate=20.0,
    fanout_seconds=1.0,
    probe_rate=20.0,
    idle_sockets=40,
    many_idle_sockets=0,
    burst_sockets=20,
    burst_events=2,
    socket_workers=2,
    settle_seconds=0.3,
    fairness_rounds=2,
    fairness_seconds=1.0,
    fairness_victims=1,
    fairness_flood_connections=2,
    fairness_token_connections=2,
    fairness_socket_connections=2,
    fairness_unread_connections=2,
    fairness_unread_tasks=30,
    full_size=False,
)
SIZES = {s.name: s for s in (FULL, QUICK, TINY)}


def mint(user_id: str, ttl: float = 4 * 3600) -> str:
    """An HS256 token the servers (run with BETTER_AUTH_SECRET=SECRET) accept."""
    now = int(time.time())
    claims = {"sub": user_id, "name": user_id, "iat": now, "exp": now + int(ttl)}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@dataclass
class Context:
    """What every benchmark gets: sizes, where PostgreSQL is, where logs go, which load
    generator to use (`wrk` path, or None for the Python generator), raw results."""

    sizes: Sizes
    pg: str
    log_dir: Path
    wrk: str | None
    profile_dir: Path | None = None
    raw: dict[str, object] = field(default_factory=dict)
