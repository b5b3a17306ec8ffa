"""Each benchmark of `python -m bench` at a tiny size (`--tiny`, the Python load
generator so no `wrk` is needed): it runs, cleans up, and writes a well-formed result
in which no event was lost, duplicated or reordered. Benchmarks are not tests: no
timing is asserted here."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.postgres


def _run(pg: str, out: Path, only: list[str], *extra: str) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench", "--tiny", "--loadgen", "python", "--pg", pg, "--out", str(out)]
    argv += ["--history", str(out / "results.jsonl")]  # not the committed bench/results.jsonl
    argv += extra
    for name in only:
        argv += ["--only", name]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (out / "latest.md").read_text().count("| ") > 10
    data: dict[str, Any] = json.loads((out / "latest.json").read_text())
    for figure in data["figures"]:
        assert isinstance(figure["value"], int | float) and math.isfinite(figure["value"]), figure
        assert figure["ceiling"] is None or figure["ceiling"] >= 0, figure
    # The run appended its figures, the same as latest.json's, as one line of its history.
    (line,) = (out / "results.jsonl").read_text().splitlines()
    entry = json.loads(line)
    assert entry["size"] == "tiny" and entry["figures"] == data["figures"]
    return data


@pytest.mark.timeout(115)
async def test_rest_benchmarks(pg_admin_url: str, tmp_path: Path) -> None:
    data = await asyncio.to_thread(_run, pg_admin_url, tmp_path, ["rest-read", "rest-write"], "--profile")
    for mode in ("read", "write"):
        raw = data["raw"][f"rest-{mode}"]
        for side in ("server", "ceiling"):
            (result,) = raw[side]
            assert result["requests"] > 0 and result["errors"] == 0, (mode, side, result)
            # --profile: a py-spy round of its own, split into categories that add up to
            # the measured round's CPU per request.
            split = data["raw"]["cpu-breakdown"][mode][side]
            assert split["samples"] > 0 and split["cpu_us"] == result["cpu_us"], split
            assert math.isclose(sum(split["us_per_request"].values()), result["cpu_us"]), split
    names = {(f["bench"].split()[1], f["name"]) for f in data["figures"]}
    for mode in ("read", "write"):
        assert {(mode, "requests/s"), (mode, "p50 latency"), (mode, "p99 latency")} <= names
    assert "| **server CPU per request** |" in (tmp_path / "latest.md").read_text()
    assert (tmp_path / "profiles" / "rest-write-ceiling.folded").stat().st_size > 0


@pytest.mark.timeout(115)
async def test_fanout_benchmark(pg_admin_url: str, tmp_path: Path) -> None:
    data = await asyncio.to_thread(_run, pg_admin_url, tmp_path, ["fanout"])
    r = data["raw"]["fanout"]
    assert r["writes_ok"] == r["writes"] > 0
    assert r["deliveries"] == 2 * r["writes_ok"]  # every write reached both of its user's sockets
    assert r["lost"] == r["duplicated"] == r["reordered"] == r["gaps"] == r["unexpected"] == 0, r
    assert r["sockets_closed"] == 0 and r["ceiling_samples"] > 0


@pytest.mark.timeout(115)
async def test_idle_benchmark(pg_admin_url: str, tmp_path: Path) -> None:
    data = await asyncio.to_thread(_run, pg_admin_url, tmp_path, ["idle"])
    for side in ("server", "ceiling"):
        idle, burst = data["raw"]["idle"][side]["idle"], data["raw"]["idle"][side]["burst"]
        assert idle["alive"] == 40 and idle["rss_after_kib"] > 0, (side, idle)
        assert burst["sockets"] == 20 and len(burst["to_last_ms"]) == 2, (side, burst)


@pytest.mark.timeout(115)
async def test_servers_started_by_uvicorn(pg_admin_url: str, tmp_path: Path) -> None:
    """`--launcher uvicorn`: the servers run as `uvicorn server.app:app` with flags."""
    data = await asyncio.to_thread(_run, pg_admin_url, tmp_path, ["idle"], "--launcher", "uvicorn")
    assert data["meta"]["launcher"].startswith("uvicorn server.app:app --host ")
    idle = data["raw"]["idle"]["server"]["idle"]
    assert idle["alive"] == 40 and idle["rss_after_kib"] > 0, idle


@pytest.mark.timeout(115)
async def test_fairness_benchmark(pg_admin_url: str, tmp_path: Path) -> None:
    data = await asyncio.to_thread(_run, pg_admin_url, tmp_path, ["fairness"])
    r = data["raw"]["fairness"]
    assert set(r) == {"writes", "tokens", "sockets", "unread"}
    for kind, phases in r.items():
        for phase in ("alone", "flooded"):
            victim = phases[phase]
            assert victim["errors"] == victim["lost"] == victim["sockets_closed"] == 0, (kind, phase, victim)
            assert victim["write_n"] == victim["event_n"] > 0 and victim["read_n"] > 0, (kind, phase, victim)
            assert victim["rss_peak_kib"] >= victim["rss_start_kib"] > 0, (kind, phase, victim)
    # Each flood did what it is named for. The writing user got its budget (100 per
    # 10 s; over a few seconds the sliding window's weighting may let a few more
    # through) and everything past it was refused.
    writes, tokens = r["writes"]["flooded"]["flood"], r["tokens"]["flooded"]["flood"]
    rounds = r["writes"]["flooded"]["rounds"]
    assert rounds == r["writes"]["alone"]["rounds"] == 2  # the samples of both rounds, pooled
    assert 0 < writes.get("write 201", 0) <= 120 * rounds and writes.get("write 429", 0) > 0, writes
    assert tokens.get("token 401", 0) > 0 and set(tokens) <= {"token 401", "connections opened"}, tokens
    sockets = r["sockets"]["flooded"]["flood"]
    assert sockets.get("open 101", 0) > 0 and sockets["messages written"] > 0, sockets
    unread = r["unread"]["flooded"]["flood"]
    assert unread["requests sent"] == 2 * unread["connections"] > 0, unread
