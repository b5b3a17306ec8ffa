"""Worker processes speaking one JSON object per line: `Worker` is the parent's side
(start, call, stop), `run_worker` the child's (read a command from stdin, run its
handler, write the reply to stdout; on uvloop)."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import resource
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench.config import ROOT

Handler = Callable[..., Awaitable[dict[str, Any]]]


# Sockets are files: 20,000 idle sockets on one server process need more than the
# 20,000 that containers often set as the hard limit. Root may raise it (to fs.nr_open).
WANTED_NOFILE = 65_536


def raise_nofile() -> None:
    """Lift this process's open-file limit to WANTED_NOFILE where allowed, else to the hard limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < WANTED_NOFILE:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (WANTED_NOFILE, WANTED_NOFILE))
            return
        except (ValueError, OSError):
            pass  # not privileged: the hard limit is all there is
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def child_setup() -> None:
    """In every child (preexec_fn): the fd limit lifted, and SIGTERM if the bench itself
    dies without cleaning up (PR_SET_PDEATHSIG), so no server outlives a killed run."""
    raise_nofile()
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_worker(handlers: dict[str, Handler]) -> None:
    raise_nofile()
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(handlers))
    else:
        uvloop.run(_serve(handlers))


async def _serve(handlers: dict[str, Handler]) -> None:
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return  # the parent closed our stdin: exit
        args = json.loads(line)
        command = args.pop("cmd")
        try:
            reply = await handlers[command](**args)
        except Exception as exc:
            traceback.print_exc()
            reply = {"error": f"{command}: {exc!r}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


class Worker:
    """`python -m bench.<module>` speaking one JSON object per line on stdin/stdout."""

    def __init__(self, name: str, module: str, log_dir: Path, nice: int = 0) -> None:
        self.name, self.module, self.log_path = name, module, log_dir / f"{name}.log"
        self.nice = nice  # added to the worker's niceness (see bench.fairness)
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self, stack: AsyncExitStack) -> Worker:
        nice = self.nice

        def setup() -> None:
            child_setup()
            if nice:
                os.nice(nice)

        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", self.module, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=log, limit=1 << 28, preexec_fn=setup,
            )  # fmt: skip
        stack.push_async_callback(self.stop)
        return self

    async def call(self, command: str, **args: Any) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"cmd": command, **args}).encode() + b"\n")
        await self._proc.stdin.drain()
        line = await self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} died; see {self.log_path}:\n{self._tail()}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"worker {self.name}: {reply['error']}")
        return reply

    def _tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    async def stop(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def start_workers(stack: AsyncExitStack, module: str, count: int, log_dir: Path) -> list[Worker]:
    label = module.rsplit(".", 1)[-1]
    return [await Worker(f"{label}-{i}", module, log_dir).start(stack) for i in range(count)]
