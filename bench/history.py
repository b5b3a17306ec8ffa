"""bench/results.jsonl: every run's figures, one JSON line per run, appended.

The history of the benchmarks is what the runner wrote, not tables copied by hand: each
line says when the run finished, on which commit (and whether the tracked files differed
from it), at which size, on which machine, and every figure with its ceiling and ratio.
docs/benchmarks.md lists the fields; tests/bench/test_history.py keeps that list true.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config import ROOT
from bench.report import Figure

MACHINE_KEYS = ("cpu", "cores", "memory_gib", "python", "postgres", "kernel", "load_generator")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _commit(history: Path) -> tuple[str | None, bool | None]:
    """HEAD, and whether tracked files differ from it. The history file itself is left out:
    after one run it always differs, which says nothing about the code measured."""
    head = _git("rev-parse", "HEAD")
    if head is None:
        return None, None
    path = history.resolve()
    exclude = [f":(exclude){path.relative_to(ROOT)}"] if path.is_relative_to(ROOT) else []
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", *exclude)
    return head, None if status is None else status != ""


def line(meta: dict[str, Any], figures: list[Figure], size: str, history: Path) -> dict[str, Any]:
    commit, dirty = _commit(history)
    return {
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "commit": commit,
        "dirty": dirty,
        "size": size,
        "command": meta.get("command"),
        "launcher": meta.get("launcher"),
        "machine": {key: meta.get(key) for key in MACHINE_KEYS},
        "all_targets_met": all(f.passed is not False for f in figures),
        "figures": [f.as_dict() for f in figures],
    }


def append(history: Path, meta: dict[str, Any], figures: list[Figure], size: str) -> dict[str, Any]:
    """Append this run's line to `history` (created if missing) and return it."""
    entry = line(meta, figures, size, history)
    history.parent.mkdir(parents=True, exist_ok=True)
    with history.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
    return entry


def read(history: Path) -> list[dict[str, Any]]:
    """Every run recorded in `history`, oldest first."""
    if not history.exists():
        return []
    return [json.loads(text) for text in history.read_text(encoding="utf-8").splitlines() if text.strip()]
