"""`python -m bench.merge_soak` — the merge soak of tests/conformance/soak.py at length:
three devices of one user (two Chromium contexts and one Python client, each behind a
proxy that cuts it) editing a few shared tasks at random, against a server of its own
on a fresh PostgreSQL database. The same seed runs twice: with the clients as they are,
and with every edit rewritten on the wire into a whole-task `If-Match` merge patch
(tests/conformance/broken.py, the old behaviour), where an edit refused with `412` and
dropped counts as lost. Prints one markdown table.

.venv/bin/python -m bench.merge_soak                  # 300 ops, seed 1
.venv/bin/python -m bench.merge_soak --ops 40 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import Browser, async_playwright

from bench import servers
from bench.config import DEFAULT_PG, ROOT
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conformance.soak import Soak, SoakResult, Workload, fleet
from tests.support import ServerProcess, User, running

MODES = (("clients as they are", False), ("whole-task If-Match (broken.py)", True))
# A soak server takes few connections of the PostgreSQL that other runs share.
SERVER_ENV = {"MIGRATE_ON_START": "false", "DB_POOL_SIZE": "3", "DB_MAX_OVERFLOW": "5"}


async def soak_once(browser: Browser, pg: str, workload: Workload, broken: bool, log_dir: Path) -> SoakResult:
    label = "broken" if broken else "fixed"
    async with servers.database(pg, f"soak_{label}", log_dir) as url:
        process = ServerProcess({"DATABASE_URL": url, **SERVER_ENV}, log_dir, f"soak-{label}")
        async with running(process) as (server,):
            user = User()
            with tempfile.TemporaryDirectory(prefix="tasksync-soak-") as folder:
                drivers = fleet(browser, user.token, Path(folder), log_dir / "evidence")
                return await Soak.of(drivers, server, user, workload, broken=broken).soak()


async def soak_both(pg: str, workload: Workload, log_dir: Path) -> list[SoakResult]:
    results: list[SoakResult] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for name, broken in MODES:
                print(f"merge soak: {name} …", file=sys.stderr, flush=True)
                results.append(await soak_once(browser, pg, workload, broken, log_dir))
        finally:
            await browser.close()
    return results


def table(workload: Workload, results: list[SoakResult]) -> str:
    def row(label: str, values: list[object]) -> str:
        return f"| {label} | " + " | ".join(str(value) for value in values) + " |"

    audits = [result.audit for result in results]
    when = f"{datetime.now(UTC):%Y-%m-%d}, commit {commit()}"
    lines = [
        f"Merge soak, {workload.ops} ops, seed {workload.seed}, {when}",
        "",
        row("", [name for name, _ in MODES]),
        row("---", ["---" for _ in MODES]),
        row("edits made", [a.edits_made for a in audits]),
        row("edits applied", [a.edits_applied for a in audits]),
        row("conflicts reported", [a.conflicts_reported for a in audits]),
        row("false conflicts (target 0)", [len(a.false_conflicts) for a in audits]),
        row("lost updates (target 0)", [len(a.lost) for a in audits]),
        row("devices equal to the server", [f"{a.devices_equal} of {a.devices}" for a in audits]),
        row(
            "cuts, creates, deletes, conflicts settled",
            [
                f"{r.counts.cuts}, {r.counts.creates}, {r.counts.deletes}, {r.counts.resolves}"
                for r in results
            ],
        ),
        row("seconds", [f"{r.seconds:.0f}" for r in results]),
    ]
    return "\n".join(lines)


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.merge_soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ops", type=int, default=300, help="ops (and settled conflicts) per run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg", default=DEFAULT_PG, help="a superuser URL ($TASKSYNC_BENCH_PG)")
    args = parser.parse_args(argv)
    workload = Workload(ops=args.ops, seed=args.seed)
    log_dir = Path(tempfile.mkdtemp(prefix="tasksync-merge-soak-"))
    results = asyncio.run(soak_both(args.pg, workload, log_dir))
    for (name, _), result in zip(MODES, results, strict=True):
        for line in [*result.audit.lost, *result.audit.false_conflicts, *result.audit.differences]:
            print(f"{name}: {line}", file=sys.stderr)
    print(table(workload, results))
    print(f"(server logs and evidence: {log_dir})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
