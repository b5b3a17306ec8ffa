"""Settings rules an operator relies on: when development mode is on (and never on by
accident), refusing to start without token verification, secret length, database URLs.

The CLI cases run `python -m server` in a subprocess from a temporary directory with
every setting removed from its environment, so neither this machine's environment nor a
`.env` in the checkout can leak in.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import uuid
from pathlib import Path

import httpx
import jwt
import pydantic
import pytest

from server.api.caller import client_network
from server.errors import ConfigurationError
from server.settings import Settings, asyncpg_dsn_of
from tests.conftest import AppFactory
from tests.support import ROOT, TEST_SECRET

CLI_TIMEOUT_SECONDS = 60.0
SETTING_NAMES = {name.upper() for name in Settings.model_fields}


def bare_env(**settings: str) -> dict[str, str]:
    """This process's environment without any setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in SETTING_NAMES}
    # The checkout stays importable from another working directory.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return {**env, **settings}


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.fixture
def no_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in os.environ:
        if name.upper() in SETTING_NAMES:
            monkeypatch.delenv(name)


# --- development mode ------------------------------------------------------------------


def test_no_configuration_means_development_mode(no_settings_env: None, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, dev_secret_file=str(tmp_path / "dev-secret"))
    assert settings.tasksync_env == "development"
    assert settings.dev_mode
    secret = settings.hs256_secret()
    assert len(secret) >= 32
    # One secret per checkout: created once, then reused, readable by its owner only.
    assert settings.hs256_secret() == secret
    assert stat.S_IMODE((tmp_path / "dev-secret").stat().st_mode) == 0o600


async def test_dev_token_from_the_cli_is_accepted_by_a_dev_server(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    secret_file = tmp_path / "state" / "dev-secret"
    user_id = f"alice-{uuid.uuid4().hex[:8]}"
    code, out, err = await run_cli(
        "token", user_id, env=bare_env(DEV_SECRET_FILE=str(secret_file)), cwd=tmp_path
    )
    assert code == 0, err
    token = out.strip()
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == user_id
    assert secret_file.exists()

    dev = await app_factory(
        tasksync_env="development", better_auth_secret="", dev_secret_file=str(secret_file)
    )
    auth = {"Authorization": f"Bearer {token}"}
    created = await dev.post("/api/tasks", json={"title": "from the CLI token"}, headers=auth)
    assert created.status_code == 201, created.text
    listed = await dev.get("/api/tasks", headers=auth)
    assert [t["title"] for t in listed.json()["items"]] == ["from the CLI token"]

    # Outside development mode the development secret means nothing.
    production = await app_factory()
    assert (await production.get("/api/tasks", headers=auth)).status_code == 401


@pytest.mark.parametrize(
    "configured",
    [
        pytest.param({"better_auth_secret": TEST_SECRET}, id="secret"),
        pytest.param({"jwks_url": "https://auth.example/jwks"}, id="jwks"),
        pytest.param({"better_auth_secret": TEST_SECRET, "jwks_url": "https://a.example/j"}, id="both"),
        pytest.param({"tasksync_env": "production"}, id="production"),
    ],
)
def test_development_mode_is_never_on_when_configured(
    no_settings_env: None, tmp_path: Path, configured: dict[str, str]
) -> None:
    secret_file = tmp_path / "dev-secret"
    settings = Settings(_env_file=None, dev_secret_file=str(secret_file), **configured)  # type: ignore[arg-type]
    assert not settings.dev_mode
    assert settings.hs256_secret() == configured.get("better_auth_secret", "")
    assert not secret_file.exists()


async def test_dev_token_is_refused_when_a_jwks_is_configured(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    secret_file = tmp_path / "dev-secret"
    dev_settings = Settings(_env_file=None, tasksync_env="development", dev_secret_file=str(secret_file))
    dev_token = jwt.encode({"sub": "alice", "exp": 4102444800}, dev_settings.hs256_secret())
    auth = {"Authorization": f"Bearer {dev_token}"}

    with_jwks = await app_factory(
        tasksync_env="development",
        better_auth_secret="",
        jwks_url="http://127.0.0.1:9/jwks",
        dev_secret_file=str(secret_file),
    )
    assert (await with_jwks.get("/api/tasks", headers=auth)).status_code == 401
    with_secret = await app_factory(tasksync_env="development", dev_secret_file=str(secret_file))
    assert (await with_secret.get("/api/tasks", headers=auth)).status_code == 401


async def test_cli_refuses_to_mint_without_a_secret_outside_development(tmp_path: Path) -> None:
    code, out, err = await run_cli(
        "token",
        "alice",
        env=bare_env(JWKS_URL="https://auth.example/jwks", DEV_SECRET_FILE=str(tmp_path / "s")),
        cwd=tmp_path,
    )
    assert code != 0
    assert out == ""
    assert "BETTER_AUTH_SECRET" in err
    assert not (tmp_path / "s").exists()


# --- refusing to start -----------------------------------------------------------------


def cli_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    # Never reached by a failing start, but never the checkout's database either.
    db = f"sqlite+aiosqlite:///{tmp_path}/tasksync.db"
    return bare_env(DATABASE_URL=db, PORT="9", DEV_SECRET_FILE=str(tmp_path / "s"), **settings)


async def test_production_without_token_verification_refuses_to_serve(tmp_path: Path) -> None:
    code, out, err = await run_cli("serve", env=cli_env(tmp_path, TASKSYNC_ENV="production"), cwd=tmp_path)
    assert code != 0
    assert "TASKSYNC_ENV=production needs BETTER_AUTH_SECRET or JWKS_URL" in err
    assert "Traceback" not in err
    assert not (tmp_path / "tasksync.db").exists()


@pytest.mark.parametrize("env", [{}, {"TASKSYNC_ENV": "production"}], ids=["development", "production"])
async def test_short_secret_refuses_to_serve(tmp_path: Path, env: dict[str, str]) -> None:
    settings = cli_env(tmp_path, BETTER_AUTH_SECRET="s" * 31, **env)
    code, _out, err = await run_cli("serve", env=settings, cwd=tmp_path)
    assert code != 0
    assert "BETTER_AUTH_SECRET must be at least 32 characters" in err
    assert "Traceback" not in err


async def test_invalid_setting_value_refuses_to_serve_with_its_name(tmp_path: Path) -> None:
    settings = cli_env(tmp_path, BETTER_AUTH_SECRET=TEST_SECRET, JWT_LEEWAY_SECONDS="300")
    code, _out, err = await run_cli("serve", env=settings, cwd=tmp_path)
    assert code != 0
    assert "jwt_leeway_seconds" in err
    assert "Traceback" not in err


def test_secret_length_is_checked_at_32_characters() -> None:
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        Settings(_env_file=None, better_auth_secret="s" * 31).check_startable()
    Settings(_env_file=None, better_auth_secret="s" * 32).check_startable()


async def test_app_with_a_short_secret_does_not_start(app_factory: AppFactory) -> None:
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        await app_factory(better_auth_secret="too-short")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"jwt_leeway_seconds": 61}, id="leeway-over-60s"),
        pytest.param({"jwt_algorithms": ["HS256"]}, id="symmetric-jwks-algorithm"),
        pytest.param({"jwt_algorithms": ["none"]}, id="alg-none"),
    ],
)
def test_unsafe_verification_settings_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(pydantic.ValidationError):
        Settings(_env_file=None, **overrides)  # type: ignore[arg-type]


def test_algorithms_from_the_environment_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_ALGORITHMS", "EdDSA, RS256")
    assert Settings(_env_file=None).jwt_algorithms == ["EdDSA", "RS256"]


# --- database URLs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/app", "postgresql+asyncpg://u:p@db.example:5432/app"),
        ("postgresql://u:p@db.example/app", "postgresql+asyncpg://u:p@db.example/app"),
        ("postgresql+asyncpg://u@h/app", "postgresql+asyncpg://u@h/app"),
        ("sqlite:///./var/x.db", "sqlite+aiosqlite:///./var/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_urls_get_the_async_driver(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    assert Settings(_env_file=None, database_url=given).database_url == expected
    monkeypatch.setenv("DATABASE_URL", given)
    settings = Settings(_env_file=None)
    assert settings.database_url == expected
    assert settings.is_postgres == expected.startswith("postgresql")


def test_asyncpg_dsn_drops_the_driver_tag() -> None:
    settings = Settings(_env_file=None, database_url="postgres://u:p@h:5432/app")
    assert settings.asyncpg_dsn == "postgresql://u:p@h:5432/app"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # BROADCAST_URL as SQLAlchemy spells it: the listener connects with asyncpg's form.
        ("postgresql+asyncpg://u@h/app?ssl=require", "postgresql://u@h/app?sslmode=require"),
        ("postgresql://u@h/app?sslmode=require", "postgresql://u@h/app?sslmode=require"),
        ("postgresql+asyncpg://u@h/app?prepared_statement_cache_size=0", "postgresql://u@h/app"),
    ],
)
def test_a_url_is_put_in_asyncpg_s_own_form(url: str, expected: str) -> None:
    assert asyncpg_dsn_of(url) == expected


async def test_platform_sslmode_urls_connect(pg_admin_url: str) -> None:
    """`?sslmode=` (as hosting platforms hand out URLs) works for the pool and for asyncpg."""
    import asyncpg

    from server.db.open import create_engine

    url = pg_admin_url + ("&" if "?" in pg_admin_url else "?") + "sslmode=disable"
    settings = Settings(_env_file=None, database_url=url)
    assert "sslmode" not in settings.database_url and "ssl=disable" in settings.database_url
    assert "sslmode=disable" in settings.asyncpg_dsn
    engine = create_engine(settings)
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT 1")).scalar() == 1
    await engine.dispose()
    raw = await asyncpg.connect(settings.asyncpg_dsn)
    assert await raw.fetchval("SELECT 1") == 1
    await raw.close()


async def test_a_pooler_url_without_prepared_statements_serves(pg_url: str) -> None:
    # The deployment guide's advice for PgBouncer in transaction mode: the URL option is the
    # pool's statement cache size, not a server setting PostgreSQL would refuse.
    from server.app import create_app
    from tests.conftest import make_settings
    from tests.support import User, sqlalchemy_url

    url = sqlalchemy_url(pg_url) + "?prepared_statement_cache_size=0"
    app = create_app(make_settings(url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=User().headers) as c:
            assert (await c.post("/api/tasks", json={"title": "pooled"})).status_code == 201
            assert [t["title"] for t in (await c.get("/api/tasks")).json()["items"]] == ["pooled"]


def test_production_refuses_to_believe_every_forwarded_for() -> None:
    # With `*`, uvicorn believes the left-most X-Forwarded-For entry, which the client writes.
    settings = Settings(
        tasksync_env="production", better_auth_secret="s" * 32, forwarded_allow_ips="10.0.0.1, *"
    )
    with pytest.raises(ConfigurationError, match="FORWARDED_ALLOW_IPS"):
        settings.check_startable()
    Settings(
        tasksync_env="production", better_auth_secret="s" * 32, forwarded_allow_ips="10.0.0.0/8"
    ).check_startable()
    Settings(tasksync_env="development", forwarded_allow_ips="*").check_startable()


@pytest.mark.parametrize(
    ("host", "counted_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:1:2:3", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("unix-socket", "unix-socket"),
    ],
)
def test_per_address_caps_count_an_ipv6_client_by_its_64(host: str, counted_as: str) -> None:
    # One subscriber's network hands out a whole /64: 1,000 of its addresses filled the
    # cap on unauthenticated sockets for everyone when each counted apart.
    assert client_network(host) == counted_as


def test_the_streams_cap_is_read_under_its_name_and_its_old_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # A deployment that set the old name keeps its cap (and is told about the new name);
    # where both are set, the new one wins.
    monkeypatch.setenv("MAX_STREAMS_PER_USER", "7")
    assert Settings(_env_file=None).max_streams_per_user == 7
    monkeypatch.delenv("MAX_STREAMS_PER_USER")
    monkeypatch.setenv("WS_MAX_SOCKETS_PER_USER", "9")
    with pytest.warns(FutureWarning, match="MAX_STREAMS_PER_USER"):
        assert Settings(_env_file=None).max_streams_per_user == 9
    monkeypatch.setenv("MAX_STREAMS_PER_USER", "7")
    with pytest.warns(FutureWarning):
        assert Settings(_env_file=None).max_streams_per_user == 7
