"""The peak resident set of server processes over one phase of a benchmark.

The kernel keeps each process's peak (`VmHWM`) and lets its owner reset it (writing 5
to `/proc/<pid>/clear_refs`), so a phase's peak is the `VmHWM` read at its end, however
short the spike; `VmRSS` is also sampled every 20 ms, which is all there is where the
reset is not allowed (then the peak is the largest sample)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from types import TracebackType

from bench.servers import rss_kib

SAMPLE_SECONDS = 0.02


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class PeakRss:
    """`async with PeakRss(pids) as peak: …`, then `peak.kib[pid]` and `peak.start_kib[pid]`."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start_kib: dict[int, int] = {}
        self.kib: dict[int, int] = {}
        self.from_hwm = False
        self._sampler: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            for pid in self.pids:
                self.kib[pid] = max(self.kib[pid], rss_kib(pid))
            await asyncio.sleep(SAMPLE_SECONDS)

    async def __aenter__(self) -> PeakRss:
        self.from_hwm = all([_reset_peak(pid) for pid in self.pids])
        self.start_kib = {pid: rss_kib(pid) for pid in self.pids}
        self.kib = dict(self.start_kib)
        self._sampler = asyncio.create_task(self._sample())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._sampler is not None
        self._sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sampler
        if self.from_hwm:
            for pid in self.pids:
                self.kib[pid] = max(self.kib[pid], rss_kib(pid, "VmHWM"))
