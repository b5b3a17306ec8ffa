"""Small shared helpers for the REST tests: creating tasks, reading lists and problems."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import User

PROBLEM_MEMBERS = {"type", "title", "status", "detail"}


async def create(client: httpx.AsyncClient, user: User, **fields: Any) -> dict[str, Any]:
    """Create a task (title defaults to "task") and return its JSON."""
    body = {"title": "task", **fields}
    response = await client.post("/api/tasks", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def fetch(client: httpx.AsyncClient, user: User, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/tasks/{task_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


async def list_page(client: httpx.AsyncClient, user: User, **params: str | int) -> dict[str, Any]:
    response = await client.get("/api/tasks", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def list_ids(client: httpx.AsyncClient, user: User, **params: str | int) -> list[str]:
    """Ids of one unpaginated page (the limit is raised to the maximum)."""
    page = await list_page(client, user, limit=500, **params)
    assert page["next_cursor"] is None
    return [task["id"] for task in page["items"]]


async def events(client: httpx.AsyncClient, user: User, since: int = 0) -> list[dict[str, Any]]:
    response = await client.get("/api/changes", params={"since": since}, headers=user.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["events"]
    return found


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status`; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert PROBLEM_MEMBERS <= problem.keys()
    assert problem["status"] == status
    assert all(isinstance(problem[name], str) and problem[name] for name in ("type", "title", "detail"))
    return problem


def error_fields(problem: dict[str, Any]) -> set[str]:
    """The field names a validation problem's `errors` list names."""
    errors = problem.get("errors")
    assert isinstance(errors, list) and errors, problem
    return {str(error["field"]) for error in errors}
