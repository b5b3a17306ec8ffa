"""Figures, the markdown table, and bench/results/latest.{md,json}."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import breakdown


@dataclass
class Figure:
    bench: str
    name: str
    value: float
    ceiling: float | None
    unit: str
    target: str = ""
    passed: bool | None = None  # None: no target, or not applicable at this size
    text: str | None = None  # shown instead of the number (e.g. "0 / 0 / 0")

    @property
    def ratio(self) -> float | None:
        if not self.ceiling:
            return None
        return self.value / self.ceiling

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        text = f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"
    elif abs(value) >= 100 or float(value).is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:.1f}"
    return f"{text} {unit}".strip()


def verdict(f: Figure) -> str:
    if f.passed is None:
        return "n/a" if f.target else ""
    return "PASS" if f.passed else "**MISS**"


def table(figures: list[Figure]) -> str:
    rows = [
        "| benchmark | figure | Tasksync | ceiling | ratio | target | result |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for f in figures:
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "—"
        value = f.text if f.text is not None else fmt(f.value, f.unit)
        ceiling = fmt(f.ceiling, f.unit)
        rows.append(f"| {f.bench} | {f.name} | {value} | {ceiling} | {ratio} | {f.target} | {verdict(f)} |")
    return "\n".join(rows)


def _pg_version(pg: str) -> str:
    async def query() -> str:
        conn = await asyncpg.connect(pg)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        return asyncio.run(query())
    except Exception:
        return "?"


def machine(pg: str, wrk: str | None) -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    wrk_version = "Python generator (bench/loadgen.py)"
    if wrk:
        probe = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        wrk_version = (probe.stdout or probe.stderr).split("[")[0].strip() or "wrk"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgres": _pg_version(pg),
        "kernel": platform.release(),
        "load_generator": wrk_version,
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
    }


def render(meta: dict[str, Any], figures: list[Figure], size: str) -> str:
    head = (
        f"Tasksync benchmarks — {meta['date']}, size `{size}`, command `{meta['command']}`\n\n"
        f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB, Linux {meta['kernel']}, "
        f"Python {meta['python']}, PostgreSQL {meta['postgres']}; load: {meta['load_generator']}. "
        "Everything (servers, PostgreSQL, clients, load generator) on this one machine. "
        f"Tasksync servers run as `{meta.get('launcher', 'python -m server serve')}`.\n"
        "Ratio = Tasksync ÷ ceiling (throughput: higher is better; latency and memory: lower is better).\n"
    )
    missed = [f"{f.bench}: {f.name}" for f in figures if f.passed is False]
    tail = "\nAll targets met.\n" if not missed else "\nMissed: " + "; ".join(missed) + ".\n"
    return head + "\n" + table(figures) + "\n" + tail


def write(out_dir: Path, meta: dict[str, Any], figures: list[Figure], raw: dict[str, Any], size: str) -> str:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = render(meta, figures, size) + breakdown.markdown(raw)
    (out_dir / "latest.md").write_text(text)
    data = {"meta": {**meta, "size": size}, "figures": [f.as_dict() for f in figures], "raw": raw}
    (out_dir / "latest.json").write_text(json.dumps(data, indent=1, default=str))
    return text
