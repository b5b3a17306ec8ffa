"""`python -m bench.sqlite_commits` — what `synchronous=FULL` costs the embedded default.

The server runs SQLite in WAL mode with `synchronous=FULL`, so an acknowledged write
survives an OS crash or a power cut (with NORMAL, the last commits may not). This
measures the price where it is paid, one fsync per commit: single-row write
transactions (`BEGIN IMMEDIATE`, as the server's writers take) through the bare
`sqlite3` module, FULL and NORMAL interleaved in one run on this machine's disk.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path


def commits_per_second(folder: Path, mode: str, commits: int) -> float:
    path = folder / f"{mode.lower()}-{time.monotonic_ns()}.db"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={mode}")
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT)")
        started = time.perf_counter()
        for _ in range(commits):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO tasks (title) VALUES (?)", ("Buy milk" * 10,))
            db.execute("COMMIT")
        return commits / (time.perf_counter() - started)
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rates: dict[str, list[float]] = {"FULL": [], "NORMAL": []}
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as folder:
        for _ in range(args.rounds):
            for mode in rates:
                rates[mode].append(commits_per_second(Path(folder), mode, args.commits))
    full, normal = (statistics.median(rates[m]) for m in ("FULL", "NORMAL"))
    print("| SQLite WAL, one-row write transactions | commits/s (median of rounds) |")
    print("| --- | ---: |")
    print(f"| synchronous=FULL (the server's) | {full:,.0f} |")
    print(f"| synchronous=NORMAL | {normal:,.0f} |")
    print(f"| FULL / NORMAL | {full / normal:.3f} |")


if __name__ == "__main__":
    main()
