"""Every scenario of tests/conformance/scenarios/ through each client: the Python
client's `LiveTasks` and the browser's `LiveStore`, each device behind a proxy that
cuts its network for real, against a real server on PostgreSQL. One file of data,
two clients: a scenario they disagree on cannot pass.

With `TASKSYNC_CONFORMANCE_BREAK=whole-task-if-match` every edit is sent as a
whole-task precondition instead (tests/conformance/broken.py) and every scenario is
expected to fail with a mismatch: the run passes only if each one does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.conformance.broken import MODE, broken_mode
from tests.conformance.drivers.base import Driver
from tests.conformance.drivers.browser_driver import BrowserDriver
from tests.conformance.drivers.python_driver import PythonDriver
from tests.conformance.runner import Run, ScenarioMismatch
from tests.conformance.scenario import load
from tests.support import ServerProcess, User

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.json"))
CLIENTS = ("python", "browser")
BROKEN = broken_mode()


def cases() -> list[object]:
    marks = (
        [pytest.mark.xfail(raises=ScenarioMismatch, strict=True, reason=f"the client is broken: {MODE}")]
        if BROKEN
        else []
    )
    return [
        pytest.param(path, client, id=f"{client}-{path.stem}", marks=marks)
        for path in SCENARIOS
        for client in CLIENTS
    ]


@pytest.fixture
def driver(
    client: str, user: User, tmp_path: Path, artifacts_dir: Path, request: pytest.FixtureRequest
) -> Driver:
    if client == "python":
        return PythonDriver(user.token, tmp_path)
    # Asked for here, so that a run of the Python cases alone needs no browser.
    browser: Browser = request.getfixturevalue("browser")
    return BrowserDriver(browser, user.token, artifacts_dir / "screenshots")


def test_every_scenario_is_valid() -> None:
    assert SCENARIOS, "no scenario files"
    for path in SCENARIOS:
        load(path)


# Several outages and reconnections each: more than the suite's default bound per test.
@pytest.mark.timeout(300)
@pytest.mark.parametrize(("path", "client"), cases())
async def test_scenario(
    path: Path, client: str, driver: Driver, server: ServerProcess, user: User, request: pytest.FixtureRequest
) -> None:
    await Run(load(path), driver, server, user, broken=BROKEN, label=request.node.name).run()
