from __future__ import annotations

import httpx

from tests.support import User


async def test_create_then_list(client: httpx.AsyncClient, user: User) -> None:
    created = await client.post("/api/tasks", json={"title": "x"}, headers=user.headers)
    assert created.status_code == 201
    listed = await client.get("/api/tasks", headers=user.headers)
    assert [t["id"] for t in listed.json()["items"]] == [created.json()["id"]]
    assert listed.json()["seq"] == 1
