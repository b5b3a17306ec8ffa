"""Run a real Better Auth server (``tests/interop/betterauth/server.mjs``) for tests.

The Node server signs up a test user, obtains a Better Auth-issued JWT for it
(jwt plugin, default EdDSA/Ed25519 keys) and prints one JSON line describing
the token and where its JWKS is served. :func:`better_auth_server` starts that
server on a free local port, parses the line into a :class:`BetterAuthIssuer`
and stops the server when the ``async with`` block exits.

Requires ``node`` on ``PATH`` and ``npm ci --prefix tests/interop/betterauth``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_port

__all__ = [
    "BETTER_AUTH_DIR",
    "BetterAuthIssuer",
    "better_auth_server",
]

BETTER_AUTH_DIR = Path(__file__).resolve().parent / "betterauth"
DEFAULT_EMAIL = "ada@example.com"
STARTUP_TIMEOUT_SECONDS = 30.0
SHUTDOWN_TIMEOUT_SECONDS = 5.0
_STDERR_TAIL_LINES = 50


@dataclass(frozen=True, slots=True)
class BetterAuthIssuer:
    """What the running Better Auth server issued, as read from the token."""

    jwks_url: str
    token: str
    issuer: str
    audience: str
    sub: str
    email: str


def _check_prerequisites() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError(
            "`node` was not found on PATH; the Better Auth interop server needs Node.js >= 20."
        )
    if not (BETTER_AUTH_DIR / "node_modules" / "better-auth").is_dir():
        raise RuntimeError(
            f"Better Auth is not installed in {BETTER_AUTH_DIR}/node_modules; "
            "run `npm ci --prefix tests/interop/betterauth` first."
        )
    return node


def _parse_issuer(line: bytes) -> BetterAuthIssuer:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"Better Auth server printed a non-JSON line: {line!r}") from exc
    if not isinstance(data, dict):
        raise RuntimeError(f"Better Auth server printed unexpected JSON: {data!r}")
    values: dict[str, str] = {}
    for field in ("jwks_url", "token", "issuer", "audience", "sub", "email"):
        value = data.get(field)
        if not isinstance(value, str) or not value:
            raise RuntimeError(f"Better Auth server output lacks a string {field!r}: {data!r}")
        values[field] = value
    return BetterAuthIssuer(**values)


async def _collect_lines(stream: asyncio.StreamReader, sink: deque[str]) -> None:
    while line := await stream.readline():
        sink.append(line.decode("utf-8", errors="replace").rstrip())


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), SHUTDOWN_TIMEOUT_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def better_auth_server(
    *,
    email: str = DEFAULT_EMAIL,
    startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
) -> AsyncIterator[BetterAuthIssuer]:
    """Run the Better Auth server for the duration of the ``async with`` block.

    Yields the issued token, its ``iss``/``aud``/``sub``/``email`` claims and
    the JWKS URL. Raises :class:`RuntimeError` if prerequisites are missing,
    the server exits early, or it prints nothing within ``startup_timeout``.
    """
    node = _check_prerequisites()
    port = free_port()
    env = {**os.environ, "PORT": str(port), "TEST_EMAIL": email}
    process = await asyncio.create_subprocess_exec(
        node,
        "server.mjs",
        cwd=BETTER_AUTH_DIR,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
    # Keep draining stderr so the server can never block on a full pipe.
    stderr_task = asyncio.create_task(_collect_lines(process.stderr, stderr_tail))
    try:
        try:
            line = await asyncio.wait_for(process.stdout.readline(), startup_timeout)
        except TimeoutError:
            raise RuntimeError(
                f"Better Auth server printed nothing within {startup_timeout:g}s; stderr:\n"
                + "\n".join(stderr_tail)
            ) from None
        if not line:
            await process.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(stderr_task), 1.0)
            raise RuntimeError(
                f"Better Auth server exited with code {process.returncode} "
                "before issuing a token; stderr:\n" + "\n".join(stderr_tail)
            )
        yield _parse_issuer(line)
    finally:
        await _stop(process)
        stderr_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stderr_task
