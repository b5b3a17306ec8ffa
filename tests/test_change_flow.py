"""docs/how-a-change-flows.md tells the path of one write through the code: the modules
it names exist, and a real `PATCH` request (a JSON Patch, with an `Idempotency-Key`)
enters them in that order, each once.

The request is followed with `sys.setprofile`, which reports every Python frame as it
starts; a frame seen again (a coroutine resuming) is not a new entry. Modules the page
does not name (errors, schemas, JSON encoding, the connection layer, the tables) are
helpers any step may call and are left out of the order.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest

from server.app import create_app
from tests.conftest import make_settings
from tests.support import ROOT, mint

PAGE = ROOT / "docs" / "how-a-change-flows.md"
# Named on the page for the other transports and databases: this request (SQLite, one
# process, a socket-less user) does not enter them.
NOT_ON_THIS_PATH = {
    "server/db/postgres.py",
    "server/realtime/listener/postgres.py",
    "server/realtime/hub.py",
    "server/realtime/stream.py",
    "server/api/ws_session.py",
    "server/tasks/create_statement.py",
}
# Named modules a later step calls back into, each for a reason the page gives: the
# edge answers (and logs) once the handler is done, the in-flight place is given back
# after the answer, the answer is remembered under the key before the commit, patch_task
# checks the document's tests, every step stamps times with the log's clock, and asks
# the open transaction (`Tx`) for its dialect or to run something after the commit, and
# the transaction's block commits as it ends.
RETURNS = {
    ("server/api/edge.py", "send_with_fields"),
    ("server/api/tasks.py", "<lambda>"),  # the operation the handler picked, run by writes.perform
    ("server/limits/inflight.py", "done_working"),
    ("server/limits/inflight.py", "stop_working"),  # also while the body is awaited
    ("server/limits/inflight.py", "resume_work"),
    ("server/limits/inflight.py", "give_back"),
    ("server/limits/inflight.py", "leave"),
    ("server/limits/inflight.py", "forget_if_idle"),
    ("server/tasks/idempotency.py", "store"),
    ("server/tasks/json_patch.py", "failed_tests"),
    ("server/realtime/log.py", "now"),
    ("server/db/database.py", "after_commit"),
    ("server/db/database.py", "dialect"),
    ("server/db/database.py", "__aexit__"),  # the transaction's, for statements that differ per database
    ("server/api/writes.py", "written_response"),
}


def flow_modules() -> list[str]:
    """The modules the page's flow names, in order of first mention."""
    block = PAGE.read_text().split("```")[1]
    named: list[str] = []
    for path in re.findall(r"server/[\w/]+\.py", block):
        if path not in named:
            named.append(path)
    for short in re.findall(r"\b(sse|changes)\.py", block):  # "also sse.py, changes.py"
        named.append(f"server/api/{short}.py")
    return named


def test_every_module_the_page_names_exists() -> None:
    missing = [path for path in flow_modules() if not (ROOT / path).is_file()]
    assert not missing, f"docs/how-a-change-flows.md names modules that do not exist: {missing}"


def _module(frame: FrameType | None) -> str | None:
    if frame is None:
        return None
    path = Path(frame.f_code.co_filename)
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT / "server") else None


class Entries:
    """Every entry into a server module from another module: (module, function), in order.
    A module calling its own functions is not an entry."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self._frames: dict[int, FrameType] = {}  # kept alive so that ids are not reused

    def __call__(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call" or id(frame) in self._frames:
            return
        self._frames[id(frame)] = frame
        module = _module(frame)
        if module is not None and module != _module(frame.f_back):
            self.calls.append((module, frame.f_code.co_name))


@pytest.fixture
def followed(tmp_path: Path) -> Iterator[Entries]:
    entries = Entries()
    yield entries
    sys.setprofile(None)


async def test_a_write_enters_each_module_once_in_the_order_the_page_tells(
    tmp_path: Path, followed: Entries
) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path}/flow.db"))
    headers = {"Authorization": f"Bearer {mint('flow-user')}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://flow") as client:
            created = await client.post("/api/tasks", json={"title": "Milk"}, headers=headers)
            assert created.status_code == 201
            document = [
                {"op": "test", "path": "/title", "value": "Milk"},
                {"op": "replace", "path": "/title", "value": "Oat milk"},
            ]
            await asyncio.sleep(0.05)  # the create's own wake-up is sent before the trace
            sys.setprofile(followed)
            patched = await client.patch(
                f"/api/tasks/{created.json()['id']}",
                content=json.dumps(document),
                headers={
                    **headers,
                    "Content-Type": "application/json-patch+json",
                    "Idempotency-Key": "flow-1",
                    "X-Client-Id": "tab-1",
                },
            )
            # The wake-up is sent by its own task once the transaction has committed.
            await asyncio.sleep(0.05)
            sys.setprofile(None)
    assert patched.status_code == 200 and patched.json()["title"] == "Oat milk"

    named = flow_modules()
    steps = [(m, f) for m, f in followed.calls if m in named and (m, f) not in RETURNS]
    entered: list[str] = []
    back_into: list[tuple[str, str]] = []
    for module, function in steps:
        if module not in entered:
            entered.append(module)
        elif module != entered[-1]:
            back_into.append((module, function))  # left for a later step, then entered again
    on_path = [m for m in named if m not in NOT_ON_THIS_PATH | {"server/api/sse.py", "server/api/changes.py"}]
    assert entered == on_path, "the request's steps differ from the page's"
    assert not back_into, f"the request went back to modules it had left: {back_into}"
