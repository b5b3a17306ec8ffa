"""The Python client as a typed dependency: installed like any package (not editable),
it ships `py.typed`, and a program using it as an application would (typed/consumer.py)
passes `mypy --strict` against it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def test_an_installed_client_type_checks_strictly_in_a_consumer(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            "clients/python",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    assert (site / "tasksync_client" / "py.typed").is_file()
    consumer = Path(__file__).parent / "typed" / "consumer.py"
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(consumer)],
        cwd=tmp_path,  # away from the checkout: only the installed package can be found
        env={**os.environ, "MYPYPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stdout[-3000:]
    # And a misuse is caught, so the check is not vacuous.
    misuse = tmp_path / "misuse.py"
    misuse.write_text("from tasksync_client import Task\n\ndef f(t: Task) -> int:\n    return t.title\n")
    wrong = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(misuse)],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert wrong.returncode == 1 and "Incompatible return value" in wrong.stdout, wrong.stdout
