"""The task quota: a user holds at most `MAX_TASKS_PER_USER` tasks (10,000 by default);
a create past it is `403` with a problem whose type ends in `quota-exceeded`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from server.db.open import create_engine
from server.db.tables import tasks, users
from tests.api.helpers import assert_problem, create, events, list_page
from tests.conftest import AppFactory, make_settings
from tests.support import User


async def test_a_small_quota_at_its_edge(app_factory: AppFactory, user: User, other_user: User) -> None:
    client = await app_factory(max_tasks_per_user=3)
    held = [await create(client, user) for _ in range(3)]
    refused = await client.post("/api/tasks", json={"title": "fourth"}, headers=user.headers)
    problem = assert_problem(refused, 403)
    assert problem["type"].endswith("quota-exceeded") and problem["limit"] == 3
    put_create = await client.put(
        f"/api/tasks/{uuid.uuid4()}", json={"title": "fourth"}, headers={**user.headers, "If-None-Match": "*"}
    )
    assert assert_problem(put_create, 403)["limit"] == 3
    # Nothing was written: no task, no event, no gap in the log.
    assert len((await list_page(client, user))["items"]) == 3
    assert [e["seq"] for e in await events(client, user)] == [1, 2, 3]
    # Another user has a quota of their own.
    assert (
        await client.post("/api/tasks", json={"title": "x"}, headers=other_user.headers)
    ).status_code == 201
    # Deleting one makes room for one.
    assert (await client.delete(f"/api/tasks/{held[0]['id']}", headers=user.headers)).status_code == 204
    assert (await client.post("/api/tasks", json={"title": "room"}, headers=user.headers)).status_code == 201
    assert_problem(await client.post("/api/tasks", json={"title": "full"}, headers=user.headers), 403)
    assert [e["seq"] for e in await events(client, user)] == [1, 2, 3, 4, 5]


async def test_the_default_quota_is_10000_tasks(
    app_factory: AppFactory, database_url: str, user: User
) -> None:
    client = await app_factory()
    assert (await client.get("/api/tasks", headers=user.headers)).status_code == 200  # the user row exists
    # 9,999 tasks written straight into the database (as many requests would take minutes).
    engine = create_engine(make_settings(database_url))
    at = datetime.now(UTC)
    rows = [
        {
            "id": str(uuid.uuid4()),
            "user_id": user.id,
            "title": f"t{n}",
            "title_key": f"t{n}",
            "description": "",
            "description_json": '""',
            "completed": False,
            "due_date": None,
            "created_at": at,
            "updated_at": at,
            "version": 1,
            "created_seq": -n,  # below every seq the API allocates
        }
        for n in range(1, 10_000)
    ]
    async with engine.begin() as conn:
        await conn.execute(tasks.insert(), rows)
        await conn.execute(users.update().where(users.c.id == user.id).values(task_count=len(rows)))
    await engine.dispose()
    last = await client.post("/api/tasks", json={"title": "the 10,000th"}, headers=user.headers)
    assert last.status_code == 201
    over = assert_problem(
        await client.post("/api/tasks", json={"title": "one more"}, headers=user.headers), 403
    )
    assert over["limit"] == 10_000
    assert (await client.delete(f"/api/tasks/{rows[0]['id']}", headers=user.headers)).status_code == 204
    assert (await client.post("/api/tasks", json={"title": "room"}, headers=user.headers)).status_code == 201


async def test_quota_refusals_are_counted(app_factory: AppFactory, user: User) -> None:
    client = await app_factory(max_tasks_per_user=1)
    await create(client, user)
    assert_problem(await client.post("/api/tasks", json={"title": "x"}, headers=user.headers), 403)
    text = (await client.get("/metrics")).text
    assert 'tasksync_rate_limited_total{budget="tasks"} 1.0' in text
