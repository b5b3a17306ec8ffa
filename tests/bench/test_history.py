"""bench/results.jsonl: each run of `python -m bench` appends one JSON line with the
fields docs/benchmarks.md lists ("The results file"), so the benchmark history is what
the runner wrote. Without servers: the figures are made up, the writing is real."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from bench import history
from bench.config import HISTORY, ROOT
from bench.report import Figure

META = {
    "command": "python -m bench --only rest-read",
    "launcher": "python -m server serve",
    "cpu": "Test CPU",
    "cores": 2,
    "memory_gib": 23.6,
    "python": "3.11.7",
    "postgres": "15.20",
    "kernel": "6.18",
    "load_generator": "wrk 4.1.0",
}
FIGURES = [
    Figure("REST read `GET /api/tasks`", "requests/s", 2870.0, 3990.0, "req/s", "≥ 0.6× ceiling", True),
    Figure("REST read `GET /api/tasks`", "p50 latency", 34.0, 17.4, "ms"),  # no target
    Figure("Fan-out", "lost / duplicated / reordered", 0, None, "", "0", True, text="0 / 0 / 0"),
]


def _documented_fields() -> set[str]:
    """The backticked names in the first column of docs/benchmarks.md's field table."""
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    section = text.split("## The results file", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row)}


def _fields(entry: dict[str, Any]) -> set[str]:
    names = {key for key in entry if key not in ("machine", "figures")}
    names |= {f"machine.{key}" for key in entry["machine"]}
    names |= {f"figures[].{key}" for figure in entry["figures"] for key in figure}
    return names


def test_each_run_appends_one_line_with_the_documented_fields(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    history.append(path, META, FIGURES, "full")
    history.append(path, META, [FIGURES[0]], "quick")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first, second = (json.loads(text) for text in lines)
    assert _fields(first) == _documented_fields()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first["time"])
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert first["commit"] == head.stdout.strip() and isinstance(first["dirty"], bool)
    assert (first["size"], second["size"]) == ("full", "quick")
    assert first["command"] == META["command"] and first["machine"]["cores"] == 2
    read, p50, fanout = first["figures"]
    assert p50["target"] == "" and p50["passed"] is None
    assert (read["value"], read["ceiling"], read["unit"], read["passed"]) == (2870.0, 3990.0, "req/s", True)
    assert abs(read["ratio"] - 2870 / 3990) < 1e-9
    assert fanout["ratio"] is None and fanout["text"] == "0 / 0 / 0"
    assert history.read(path) == [first, second]


def test_a_missed_target_is_recorded(tmp_path: Path) -> None:
    missed = Figure("REST write `POST /api/tasks`", "requests/s", 1000.0, 2000.0, "req/s", "≥ 0.6×", False)
    entry = history.append(tmp_path / "results.jsonl", META, [*FIGURES, missed], "full")
    assert entry["all_targets_met"] is False
    # A figure without a target (passed is None) is no miss.
    assert history.append(tmp_path / "results.jsonl", META, FIGURES, "full")["all_targets_met"] is True


def test_the_committed_history_is_well_formed() -> None:
    for entry in history.read(HISTORY):
        assert _fields(entry) <= _documented_fields(), entry["time"]
        assert entry["figures"], entry["time"]
