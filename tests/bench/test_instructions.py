"""`python -m bench.instructions --drive N` (what each callgrind child runs) drives both
apps in-process: every create of the warm-up and of the counted part is answered 201
(the driver stops with an error otherwise)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.postgres


async def test_the_instruction_counts_driver_creates_on_both_apps(pg_admin_url: str) -> None:
    argv = [sys.executable, "-m", "bench.instructions", "--drive", "40", "--pg", pg_admin_url]
    done = await asyncio.to_thread(
        subprocess.run, argv, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The server's access lines: its warm-up and counted creates, each answered 201.
    created = done.stderr.count('"message":"POST /api/tasks 201"')
    assert created == 2_000 + 40, done.stderr[-2000:]
