"""`python -m bench.hundred_k` at 2,000 sockets: the same network namespaces, HAProxy
processes, server processes and load generators as the 100,000-socket run, shrunk. It
runs, cleans up, and what it reports holds: every socket answered its ping, every
write reached every socket of its user once and in order, and after one server process
is killed each of its sockets came back through HAProxy on the others, caught up with
no resync. Benchmarks are not tests: no timing is asserted here.

Needs root, iproute2 and HAProxy, as tests/hosts does: skipped without them, failed
under CI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.hundred_k_net import missing_prerequisite, remove_leftovers
from tests.support import ROOT, skip_or_fail

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SOCKETS = 2_000


def _run(pg: str, out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    argv = [
        sys.executable, "-m", "bench.hundred_k", "--sockets", str(SOCKETS), "--seconds", "2",
        "--baseline", "2", "--settle", "1", "--storm-timeout", "30", "--pg", pg,
        "--history", str(out / "results.jsonl"), "--raw", str(out / "raw.json"),
    ]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (line,) = (out / "results.jsonl").read_text().splitlines()
    return json.loads((out / "raw.json").read_text()), json.loads(line)


@pytest.mark.timeout(110)
async def test_sockets_writes_and_a_killed_process(pg_admin_url: str, tmp_path: Path) -> None:
    problem = missing_prerequisite()
    if problem:
        skip_or_fail(problem)
    raw, entry = await asyncio.to_thread(_run, pg_admin_url, tmp_path)

    opened = raw["open"]
    assert opened["opened"] == opened["alive"] == SOCKETS, opened
    assert sum(opened["per_server"]) == SOCKETS, opened

    writes = raw["writes"]
    assert writes["writes_ok"] > 0 and not writes["failed"], writes
    assert writes["deliveries"] == writes["expected"] == writes["writes_ok"] * raw["per_user"], writes
    assert writes["gaps"] == writes["duplicated"] == 0, writes

    storm = raw["storm"]
    victims = storm["victim_sockets"]
    assert victims > 0 and storm["lost"] == storm["reconnected"] == storm["caught_up"] == victims, storm
    assert storm["resyncs"] == 0, storm
    # All of them back on the processes left, every one answering.
    assert sum(storm["per_server_after"]) == storm["alive_after"] == SOCKETS, storm
    assert storm["pg_window_delta"]["xact_commit"] > 0, storm

    assert entry["size"] == f"hundred-k-{SOCKETS}" and entry["all_targets_met"], entry
    # Nothing of the run is left on the machine: no namespace, no link of its prefix.
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    if "tsb-" in names + links:
        remove_leftovers()
        pytest.fail(f"bench.hundred_k left namespaces or links behind:\n{names}\n{links}")
