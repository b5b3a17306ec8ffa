"""Clients generated from the served `/openapi.json` work, as a team generating them would
find: TypeScript types from `openapi-typescript` type-check a small client
(consumers/consumer.ts) under `tsc --noEmit --strict`, and the Python client from
`openapi-python-client` passes `mypy --strict` with a typed use of it
(consumers/python_consumer.py) that then lists, creates and patches against a real
server. A schema change that breaks either use fails here; a control shows it would.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ecosystem.conftest import ECOSYSTEM_DIR, TOOL_TIMEOUT, fetch_json, node_tool
from tests.support import ServerProcess, User

CONSUMERS = ECOSYSTEM_DIR / "consumers"
# Formatting the generated code is no part of what is checked; the default hook would
# run `ruff` from PATH.
_GENERATOR_CONFIG = "post_hooks: []\n"


@pytest.fixture(scope="module")
async def openapi(server: ServerProcess) -> dict[str, Any]:
    return await fetch_json(server, "/openapi.json")


def _broken(openapi: dict[str, Any]) -> dict[str, Any]:
    """The document with `Task.title` renamed: what a careless schema change looks like."""
    document = copy.deepcopy(openapi)
    task = document["components"]["schemas"]["Task"]
    task["properties"]["name"] = task["properties"].pop("title")
    task["required"] = ["name" if field == "title" else field for field in task["required"]]
    return document


def _typescript_check(document: dict[str, Any], work: Path) -> subprocess.CompletedProcess[str]:
    work.mkdir()
    (work / "openapi.json").write_text(json.dumps(document))
    generated = node_tool("openapi-typescript", work / "openapi.json", "--output", work / "schema.d.ts")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    shutil.copy(CONSUMERS / "consumer.ts", work / "consumer.ts")
    # The DOM's `fetch`, as in a browser; the directory has no node_modules/@types.
    options = ["--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler"]
    options += ["--lib", "es2022,dom", "--noUncheckedIndexedAccess"]
    return node_tool("tsc", "--noEmit", "--strict", *options, "consumer.ts", cwd=work)


def test_typescript_types_type_check_strictly(openapi: dict[str, Any], tmp_path: Path) -> None:
    checked = _typescript_check(openapi, tmp_path / "good")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    broken = _typescript_check(_broken(openapi), tmp_path / "broken")
    assert broken.returncode != 0
    assert "Property 'title' does not exist on type" in broken.stdout


def _without_array_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """The document less the JSON Patch body of `PATCH /api/tasks/{id}`.

    openapi-python-client 0.29 writes `isinstance(body, list[...])` for an array request
    body offered beside other content types, which mypy refuses and Python raises on; the
    merge-patch bodies of the same operation are still generated and checked."""
    trimmed = copy.deepcopy(document)
    trimmed["paths"]["/api/tasks/{task_id}"]["patch"]["requestBody"]["content"].pop(
        "application/json-patch+json"
    )
    return trimmed


def _generate_python_client(document: dict[str, Any], work: Path) -> None:
    work.mkdir()
    (work / "openapi.json").write_text(json.dumps(_without_array_bodies(document)))
    (work / "generator.yaml").write_text(_GENERATOR_CONFIG)
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json"]
    command += ["--output-path", "tasksync_api", "--meta", "none", "--config", "generator.yaml"]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=TOOL_TIMEOUT)
    # It reports what it could not generate as warnings, and still exits 0.
    assert done.returncode == 0 and "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    shutil.copy(CONSUMERS / "python_consumer.py", work / "python_consumer.py")


def _mypy_strict(work: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    command += ["--cache-dir", str(work / ".mypy"), "python_consumer.py", "tasksync_api"]
    return subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=TOOL_TIMEOUT)


def test_python_client_type_checks_strictly(openapi: dict[str, Any], tmp_path: Path) -> None:
    _generate_python_client(openapi, tmp_path / "good")
    checked = _mypy_strict(tmp_path / "good")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    _generate_python_client(_broken(openapi), tmp_path / "broken")
    broken = _mypy_strict(tmp_path / "broken")
    assert broken.returncode != 0
    assert '"Task" has no attribute "title"' in broken.stdout


async def test_python_client_lists_creates_and_patches(
    openapi: dict[str, Any], server: ServerProcess, user: User, tmp_path: Path
) -> None:
    _generate_python_client(openapi, tmp_path / "client")
    done = subprocess.run(
        [sys.executable, "python_consumer.py", server.url, user.token],
        cwd=tmp_path / "client",
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    task_id = result["created"]["id"]
    assert result["created"] == {
        "id": task_id,
        "title": "Write the report",
        "version": 1,
        "due": "2026-12-01",
    }
    assert result["patched"] == {"completed": True, "version": 2}
    assert result["etag"] == '"2"'
    assert result["stale"] == 412
    assert result["completed_ids"] == [task_id]
    assert result["seq"] == 2
    assert result["missing"] == 404

    # What the generated client did is what the API now holds, and what every stream saw.
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as http:
        task = (await http.get(f"/api/tasks/{task_id}")).json()
        changes = (await http.get("/api/changes", params={"since": 0})).json()
    assert (task["title"], task["completed"], task["due_date"]) == ("Write the report", True, "2026-12-01")
    assert [(event["type"], event["origin"]) for event in changes["events"]] == [
        ("task.created", "generated-client"),
        ("task.updated", None),
    ]
