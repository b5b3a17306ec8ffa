"""Optional py-spy profiles (`--profile`): record a server process during a round of its
own (py-spy takes CPU on this 2-core machine, so the measured rounds run without it) and
summarise the samples as the share of CPU time per category (bench/breakdown.py), per
area and under each function.

py-spy samples Python frames only, of threads that are running (no `--idle`): a share of
samples is a share of the process's CPU time."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bench import breakdown
from bench.config import Context

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:]+)(?::\d+)?\)$")


def py_spy() -> str | None:
    return shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))


@asynccontextmanager
async def profiled(ctx: Context, pid: int, name: str) -> AsyncIterator[Path | None]:
    """py-spy records `pid` for the duration of the block (a no-op without --profile);
    yields the folded file it writes when the block ends (None if not profiling)."""
    tool = py_spy()
    if ctx.profile_dir is None or tool is None:
        yield None
        return
    raw = ctx.profile_dir / f"{name}.folded"
    raw.unlink(missing_ok=True)
    # Without --idle (CPU samples only) and without --nonblocking: py-spy pauses the
    # process for each sample, since reading a running process's stacks tears some.
    argv = [tool, "record", "--pid", str(pid), "--rate", "250", "--format", "raw", "-o", str(raw)]
    with (ctx.log_dir / f"py-spy-{name}.log").open("ab") as log:
        proc = await asyncio.create_subprocess_exec(*argv, stdout=log, stderr=log)
    try:
        yield raw
    finally:
        proc.send_signal(signal.SIGINT)
        await proc.wait()
    if raw.exists():
        (ctx.profile_dir / f"{name}.txt").write_text(summarise(raw))
    else:
        print(f"bench: py-spy wrote no profile of {name}; see {log.name}", file=sys.stderr)


def _short(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = m["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m['func']} ({path})"


def _area(frame: str) -> str:
    """Where a leaf frame's CPU goes: a library, or a module of the server."""
    m = _FRAME.match(frame)
    if not m:
        return "(no Python frame: uvloop, httptools, GC, …)"
    path = m["file"]
    if path.startswith("server/"):
        return path
    if "connect_utils" in path:
        return "asyncpg connect (new connection)"
    if path == "asyncpg/transaction.py" or m["func"] in ("Transaction.start", "Transaction.__commit"):
        return "asyncpg BEGIN/COMMIT"
    top = path.split("/", 1)[0]
    return top.removesuffix(".py") if "/" in path or path.endswith(".py") else path


def summarise(folded: Path, top: int = 40) -> str:
    """Shares of py-spy's samples: by area (where the CPU is, per library or server
    module), and per function, inclusive and self. SQLAlchemy's greenlets cut some
    stacks short, so inclusive shares of outer frames are lower bounds."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in folded.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";") if f.strip()]
        total += n
        for f in set(frames):
            inclusive[f] += n
        leaf = frames[-1] if frames else ""
        own[leaf or "(no Python frame)"] += n
        area = _area(leaf) if leaf else _area("")
        if len(frames) >= 2 and area == "asyncpg" and _area(frames[-2]) == "asyncpg BEGIN/COMMIT":
            area = "asyncpg BEGIN/COMMIT"
        areas[area] += n
    if not total:
        return "no samples\n"
    categories = breakdown.count(folded)
    lines = [f"{total} samples", "", "%  category (bench/breakdown.py)"]
    lines += [f"{100 * categories[c] / total:6.1f}  {c}" for c in breakdown.CATEGORIES]
    lines += ["", "self %  area"]
    lines += [f"{100 * n / total:6.1f}  {a}" for a, n in areas.most_common(25)]
    lines += ["", "inclusive %  function"]
    lines += [f"{100 * n / total:10.1f}  {f}" for f, n in inclusive.most_common(top)]
    lines += ["", "self %  function"]
    lines += [f"{100 * n / total:6.1f}  {f}" for f, n in own.most_common(top)]
    return "\n".join(lines) + "\n"
