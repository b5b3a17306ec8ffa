"""Shared fixtures.

PostgreSQL: the local server (127.0.0.1:5432, or $TASKSYNC_TEST_PG), else an embedded
one started with `pgserver`. Under CI (`CI=1`, `true` or `yes`) a missing PostgreSQL
fails the run instead of skipping. A template database is migrated once per run; each test module gets its own
clone, so commits and NOTIFY are real. Tests isolate themselves further by using fresh
users (per-user isolation is a product guarantee, and tested as such).
"""

from __future__ import annotations

import os
import signal
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from server.app import create_app
from server.db.migrate import upgrade_to_head
from server.db.open import create_engine
from server.settings import Settings
from tests.support import (
    LOCAL_PG,
    TEST_SECRET,
    UNLIMITED_ENV,
    User,
    create_database,
    drop_database,
    import_pgserver,
    kill_leftover_servers,
    postgres_reachable,
    skip_or_fail,
    sqlalchemy_url,
    with_database,
)

RUN_ID = uuid.uuid4().hex[:8]


def pytest_configure(config: pytest.Config) -> None:
    # Started in the background by a shell without job control (`nohup make test &`),
    # this process ignores SIGINT, and so would every program a test starts: the CLI
    # tests' Ctrl-C would do nothing. A handler of our own is reset to the default in
    # each child, where Ctrl-C then works as in a terminal.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # The safety net under `running()`, after the fixtures' own teardown: a server still
    # alive here (a run interrupted where no teardown could run: a Ctrl-C inside the
    # event loop, say) would hold its PostgreSQL connections for good.
    leftovers = kill_leftover_servers()
    if leftovers:
        session.config.get_terminal_writer().line(f"killed leftover servers: {', '.join(leftovers)}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # `make test` runs the suite on two pytest-xdist workers (`--dist loadgroup`): a
    # file's tests stay on one worker, so its module fixtures (databases, servers,
    # browsers) are made once, and the multi-host tests all share one worker, since a
    # machine holds one topology of fixed namespace names at a time (tests/hosts).
    root = config.rootpath / "tests"
    for item in items:
        path = item.path.relative_to(root)
        group = "hosts" if path.parts[0] == "hosts" else path.as_posix()
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("TASKSYNC_TEST_ARTIFACTS", tempfile.mkdtemp(prefix="tasksync-test-")))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
async def pg_admin_url() -> AsyncIterator[str]:
    """A superuser URL of a running PostgreSQL, or the test is skipped (failed under CI)."""
    url = os.environ.get("TASKSYNC_TEST_PG", LOCAL_PG)
    if await postgres_reachable(url):
        yield url
        return
    pgserver = import_pgserver()
    if pgserver is not None:
        data_dir = Path(tempfile.mkdtemp(prefix="tasksync-pg-"))
        server = pgserver.get_server(data_dir, cleanup_mode="stop")
        yield server.get_uri()
        server.cleanup()
        return
    skip_or_fail(f"no PostgreSQL at {url} and pgserver is not installed")


@pytest.fixture(scope="session")
async def pg_template(pg_admin_url: str) -> AsyncIterator[str]:
    """The name of a database migrated to head, to clone per test module."""
    name = f"tasksync_tmpl_{RUN_ID}"
    await create_database(pg_admin_url, name)
    engine = create_engine(Settings(_env_file=None, database_url=with_database(pg_admin_url, name)))
    await upgrade_to_head(engine)
    await engine.dispose()
    yield name
    await drop_database(pg_admin_url, name)


@pytest.fixture(scope="module")
async def pg_url(pg_admin_url: str, pg_template: str) -> AsyncIterator[str]:
    """A fresh, migrated database of this module's own (asyncpg-style URL)."""
    name = f"tasksync_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    await create_database(pg_admin_url, name, template=pg_template)
    yield with_database(pg_admin_url, name)
    await drop_database(pg_admin_url, name)


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "tasksync_env": "production",
        "database_url": database_url,
        "broadcast_url": "",
        "better_auth_secret": TEST_SECRET,
        "jwks_url": "",
        "jwt_issuer": "",
        "jwt_audience": "",
        "cors_origins": ["http://app.example"],
        **{name.lower(): value for name, value in UNLIMITED_ENV.items()},
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Each module using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite')}/tasksync.db"
    pg: str = request.getfixturevalue("pg_url")
    return sqlalchemy_url(pg)


AppFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture(scope="module")
async def app_factory(database_url: str) -> AsyncIterator[AppFactory]:
    """Builds apps (lifespan running) on this module's database; clients over ASGI."""
    opened: list[tuple[Starlette, object, httpx.AsyncClient]] = []

    async def build(**overrides: object) -> httpx.AsyncClient:
        app = create_app(make_settings(database_url, **overrides))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        opened.append((app, lifespan, client))
        return client

    yield build
    for _app, lifespan, client in reversed(opened):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
async def client(app_factory: AppFactory) -> httpx.AsyncClient:
    """An in-process client of an app with default test settings."""
    return await app_factory()


@pytest.fixture
def user() -> User:
    return User()


@pytest.fixture
def other_user() -> User:
    return User()
