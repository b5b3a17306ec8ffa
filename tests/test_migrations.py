"""Schema migrations upgrade a database in place: from the previous schema, with data in
it, on SQLite and PostgreSQL, nothing is lost and the new rules hold afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from server.app import create_app
from server.db.migrate import upgrade_to_head
from server.db.open import create_engine
from tests.conftest import RUN_ID, make_settings
from tests.support import User, create_database, drop_database, sqlalchemy_url, with_database

OLD_ID = "6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e"
# Everything JSON escapes, and text it carries as it is: a list page carries each
# description as the JSON string the upgrade wrote for it.
OLD_DESCRIPTION = 'say "hi"\n\tback\\slash \x01 caf\u00e9 \U0001f600'


@pytest.fixture(params=["sqlite", "postgres"])
def pg_admin(request: pytest.FixtureRequest) -> str | None:
    """The PostgreSQL admin URL, or None for the SQLite run."""
    return None if request.param == "sqlite" else str(request.getfixturevalue("pg_admin_url"))


@pytest.fixture
async def empty_database(pg_admin: str | None, tmp_path: Path) -> AsyncIterator[str]:
    if pg_admin is None:
        yield f"sqlite+aiosqlite:///{tmp_path}/old.db"
        return
    admin = pg_admin
    name = f"tasksync_migrate_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    await create_database(admin, name)
    yield sqlalchemy_url(with_database(admin, name))
    await drop_database(admin, name)


async def fill_previous_schema(url: str, alice: User, bob: User) -> None:
    """A database at revision 0001 with two users' tasks, events and an idempotency key."""
    engine = create_engine(make_settings(url))
    await upgrade_to_head(engine, "0001")
    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    async with engine.begin() as conn:
        for user, seq in ((alice, 1), (bob, 1)):
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, name, seq, created_at) VALUES (:id, NULL, NULL, :seq, :at)"
                ),
                {"id": user.id, "seq": seq, "at": at},
            )
        rows = [(OLD_ID, alice), (str(uuid.uuid4()), bob)]
        for task_id, user in rows:
            await conn.execute(
                sa.text(
                    "INSERT INTO tasks (id, user_id, title, title_key, description, completed, due_date,"
                    " created_at, updated_at, version, created_seq)"
                    " VALUES (:id, :user, :title, :key, :description, false, NULL, :at, :at, 1, 1)"
                ),
                {
                    "id": task_id,
                    "user": user.id,
                    "title": f"old {user.id}",
                    "key": f"old {user.id}",
                    "description": OLD_DESCRIPTION,
                    "at": at,
                },
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO events (user_id, seq, type, task_id, body, at)"
                    " VALUES (:user, 1, 'task.created', :id, :body, :at)"
                ),
                {"user": user.id, "id": task_id, "body": '{"seq":1}', "at": at},
            )
        await conn.execute(
            sa.text(
                "INSERT INTO idempotency_keys"
                " (user_id, key, request_hash, status_code, response_body, created_at)"
                " VALUES (:user, 'old-key', 'x', 201, '{}', :at)"
            ),
            {"user": alice.id, "at": at},
        )
    await engine.dispose()


async def test_upgrading_from_the_previous_schema_keeps_data_and_scopes_ids(empty_database: str) -> None:
    alice, bob = User(), User()
    await fill_previous_schema(empty_database, alice, bob)
    # The server migrates on start, as a deployment of the new version would.
    app = create_app(make_settings(empty_database, migrate_on_start=True))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            page = (await client.get("/api/tasks", headers=alice.headers)).json()
            assert ([t["id"] for t in page["items"]], page["seq"]) == ([OLD_ID], 1)
            assert page["items"][0]["title"] == f"old {alice.id}"
            assert page["items"][0]["description"] == OLD_DESCRIPTION
            # The old task is writable, and its event log continues without a gap.
            toggled = await client.patch(f"/api/tasks/{OLD_ID}/complete", headers=alice.headers)
            assert (toggled.status_code, toggled.headers["tasksync-seq"]) == (200, "2")
            # The same id is now free for another user, and still taken for its owner.
            create = {"If-None-Match": "*"}
            bobs = await client.put(
                f"/api/tasks/{OLD_ID}", json={"title": "bob's"}, headers={**bob.headers, **create}
            )
            assert bobs.status_code == 201
            again = await client.put(
                f"/api/tasks/{OLD_ID}", json={"title": "x"}, headers={**alice.headers, **create}
            )
            assert again.status_code == 412 and again.json()["current"]["completed"] is True
            assert len((await client.get("/api/tasks", headers=bob.headers)).json()["items"]) == 2
    engine = create_engine(make_settings(empty_database))
    async with engine.connect() as conn:
        keys = (await conn.execute(sa.text("SELECT key, seq FROM idempotency_keys"))).all()
        heads = dict((await conn.execute(sa.text("SELECT id, seq FROM users"))).all())
    await engine.dispose()
    assert [tuple(k) for k in keys] == [("old-key", None)]
    assert heads == {alice.id: 2, bob.id: 2}
