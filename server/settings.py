"""One frozen settings object, built from the environment (and an optional `.env`).

Every bound the server enforces (body size, queue depth, retention, socket caps)
lives here so that an operator can see and tune it in one place; the README's
configuration table mirrors this class.
"""

from __future__ import annotations

import ipaddress
import secrets
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode

import limits
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/tasksync.db"


def _rename_query_key(url: str, old: str, new: str) -> str:
    base, sep, query = url.partition("?")
    if not sep:
        return url
    pairs = [(new if key == old else key, value) for key, value in parse_qsl(query, keep_blank_values=True)]
    return f"{base}?{urlencode(pairs)}"


# SQLAlchemy's asyncpg option in a database URL; asyncpg would send it to PostgreSQL.
STATEMENT_CACHE_KEY = "prepared_statement_cache_size"


def _query_value(url: str, key: str) -> str | None:
    return dict(parse_qsl(url.partition("?")[2], keep_blank_values=True)).get(key)


def _drop_query_key(url: str, key: str) -> str:
    base, sep, query = url.partition("?")
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != key]
    return f"{base}?{urlencode(pairs)}" if pairs else base


def asyncpg_dsn_of(url: str) -> str:
    """A PostgreSQL URL in the form asyncpg itself accepts: no SQLAlchemy driver tag,
    `sslmode` for SQLAlchemy's `ssl`, and no `prepared_statement_cache_size` (read into
    the pool's statement cache size instead, `Settings.statement_cache_size`)."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    return _drop_query_key(_rename_query_key(dsn, "ssl", "sslmode"), STATEMENT_CACHE_KEY)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


_OLD_STREAMS_CAP = "ws_max_sockets_per_user"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True)

    # "production" refuses to start without real token verification configured.
    tasksync_env: Literal["development", "production"] = "development"

    database_url: str = DEFAULT_DATABASE_URL
    # The app's log level; logging is set up by `python -m server serve`, or by the
    # lifespan when nothing else did (`uvicorn server.app:app`).
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    # Empty means: the database itself (LISTEN/NOTIFY) on PostgreSQL, in-process on SQLite.
    broadcast_url: str = ""
    # A fixed pool: overflow connections are closed on return and reopened under load
    # (TCP, TLS attempt, type introspection, re-preparing statements) - the benchmark's
    # worst p99 came from that churn.
    db_pool_size: int = Field(default=30, ge=1, le=500)
    db_max_overflow: int = Field(default=0, ge=0, le=500)
    # A client-side bound on each PostgreSQL statement and connect: a path to the
    # database that drops packets (no reset) is noticed within it, and the request is
    # answered 503, instead of waiting for TCP to give up after minutes.
    db_timeout_seconds: float = Field(default=10.0, gt=0)
    # /readyz answers within this whatever the network does: well under a balancer's
    # check interval, so a host that lost its database is taken out at its first check.
    ready_timeout_seconds: float = Field(default=1.5, gt=0)
    migrate_on_start: bool = True

    better_auth_secret: str = ""
    jwks_url: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_algorithms: Annotated[list[str], NoDecode] = ["EdDSA", "ES256", "RS256"]
    # The contract caps clock leeway at 60 seconds.
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=60)
    jwks_cache_seconds: int = Field(default=300, ge=1)
    # A flood of tokens with made-up `kid`s must not turn into a flood of JWKS fetches.
    jwks_min_refetch_seconds: float = Field(default=10.0, ge=0)
    jwks_fetch_timeout_seconds: float = Field(default=5.0, gt=0)
    dev_secret_file: str = "./var/dev-secret"

    cors_origins: Annotated[list[str], NoDecode] = []
    # The proxies whose X-Forwarded-Proto / X-Forwarded-For uvicorn believes (addresses or
    # CIDRs, comma-separated, or `*`): behind a TLS-terminating load balancer its address
    # must be here, or the page's own socket (Origin https://...) is refused as cross-origin.
    forwarded_allow_ips: str = "127.0.0.1,::1"

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # A page of the list or of the changes feed stops once it holds about this much
    # (the client continues from `next_cursor` / its last seq): a response is bounded in
    # bytes, not only in items (500 tasks of 10,000 emoji were 20 MB).
    # What a connection may send before its request's headers are complete, and how long
    # it may take (server.limits.http_guard): 431 / 408 and the connection closed past them.
    max_header_block_bytes: int = Field(default=64 * 1024, ge=8 * 1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    max_page_bytes: int = Field(default=1024 * 1024, ge=16 * 1024)
    # A large response goes out in pieces; a client that takes longer than this to read
    # one has its request ended (its connection closed) and the response let go.
    send_timeout_seconds: float = Field(default=30.0, gt=0)
    # From the request's headers to the end of its body. uvicorn bounds the wait for a
    # request's headers (`timeout_keep_alive` between requests) but not for its body: a
    # client that promises a length and stops sending would hold its request for ever.
    body_timeout_seconds: float = Field(default=30.0, gt=0)

    # Per-user budgets, in the `limits` library's notation ("100/10 seconds"). Writes:
    # 10 a second sustained, with room for an offline client's burst of queued writes.
    rate_limit_writes: str = "100/10 seconds"
    rate_limit_reads: str = "300/10 seconds"
    # WebSocket, SSE and long-poll opens: a reconnect loop is cut off, a flaky network
    # (a reconnect every few seconds) is not.
    rate_limit_stream_opens: str = "30/minute"
    # Redis to share the limits across processes; empty = the Redis fan-out URL if
    # there is one, else per process. `memory://` forces per process.
    rate_limit_url: str = ""
    # A refused request is answered after this long (at most its Retry-After): a client
    # retrying in a loop then sends one request per connection per this, not thousands.
    rate_limit_refusal_delay_seconds: float = Field(default=1.0, ge=0, le=10)
    # One user's requests in flight (until sent) and at work (until the response starts)
    # at once per process; the rest wait their turn, so a user's burst is spread over
    # time rather than over the other users (see server.limits.inflight).
    max_requests_in_flight_per_user: int = Field(default=8, ge=1)
    max_requests_at_work_per_user: int = Field(default=1, ge=1)
    # ... and a large response (over 64 KiB) keeps its place at work for its size ÷ this:
    # one user's large pages are built at this pace per process, not back to back.
    max_response_bytes_per_second_per_user: int = Field(default=8 * 1024 * 1024, ge=64 * 1024)
    # Refused credentials (401, 4401) are answered this late, at most this many at once
    # per client network (see server.limits.refusals).
    auth_refusal_delay_seconds: float = Field(default=1.0, ge=0, le=10)
    auth_refusals_held_per_network: int = Field(default=20, ge=1)
    max_tasks_per_user: int = Field(default=10_000, ge=1)
    # When set, `/metrics` answers only `Authorization: Bearer <this>`.
    metrics_token: str = ""
    idempotency_ttl_hours: int = Field(default=24, ge=24)

    # Realtime. Each stream buffers at most this many events before it is closed as too
    # slow (4408); 1,000 events of a few hundred bytes bound a stream's memory near 1 MB.
    stream_queue_size: int = Field(default=1000, ge=10)
    # ... and at most this many bytes of event JSON (events can be ~40 KB each).
    stream_buffer_bytes: int = Field(default=1024 * 1024, ge=64 * 1024)
    # A stream whose buffer fills reads back from the log instead (bursts are fine); one
    # still behind after this long is closed as too slow (4408).
    stream_lag_seconds: float = Field(default=10.0, gt=0)
    # Streams per user per process: sockets, SSE streams and parked long-polls together.
    # Its first name, WS_MAX_SOCKETS_PER_USER, said less than it caps; still read (with
    # a warning) so that a deployment's existing setting keeps its meaning.
    max_streams_per_user: int = Field(default=50, ge=1)
    # The old name, read only to be carried over into the new one (see _carry_over_old_names).
    ws_max_sockets_per_user: int | None = Field(default=None, ge=1)
    # Sockets still in first-message auth (up to WS_AUTH_TIMEOUT_SECONDS each) cost memory
    # before anyone is known: capped per process and per client address.
    ws_max_unauthenticated: int = Field(default=1000, ge=1)
    ws_max_unauthenticated_per_address: int = Field(default=20, ge=1)
    # Sockets being opened at once per process (handshake to hello); past it a handshake
    # is refused 429 with a spread Retry-After (see server.limits.openings).
    ws_max_opening: int = Field(default=64, ge=1)
    ws_auth_timeout_seconds: float = Field(default=5.0, gt=0)
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    # What a client sends on an open socket (ping, auth) is a few messages a minute;
    # above this budget the socket is closed 4429, so messages can never cost the
    # process more than a request would.
    ws_messages_per_second: float = Field(default=2.0, gt=0)
    ws_message_burst: int = Field(default=10, ge=1)
    # Bytes an open socket may send before they are parsed (server.limits.ws_guard): a burst of
    # two of the largest messages, then this many a second; past it the socket is dropped.
    ws_receive_bytes_per_second: float = Field(default=4096.0, gt=0)
    sse_keepalive_seconds: float = Field(default=15.0, gt=0)
    longpoll_max_wait_seconds: float = Field(default=30.0, gt=0, le=30)
    listener_health_seconds: float = Field(default=5.0, gt=0)
    listener_timeout_seconds: float = Field(default=5.0, gt=0)
    # Every feed re-reads its log this often, one read per feed: a safety net under the
    # per-second sweep of recent events, which is what catches a lost wake-up. At 30 s
    # (its first default) the feeds of 100,000 sockets made most of the database's idle
    # load: about 1,800 reads a second.
    reconcile_seconds: float = Field(default=600.0, gt=0)
    # How often each process looks for events of the last few seconds that its streams
    # have not been woken for (a writer killed between its commit and its wake-up).
    catch_up_sweep_seconds: float = Field(default=1.0, gt=0)
    # Retention: an event goes only when it is beyond the newest `retention_events` of
    # its user AND older than `retention_days` (the contract's floor: 1,000 or 7 days).
    retention_events: int = Field(default=1000, ge=1000)
    retention_days: float = Field(default=7.0, ge=7.0)
    retention_interval_seconds: float = Field(default=600.0, gt=0)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("jwt_algorithms", "cors_origins", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("jwt_algorithms")
    @classmethod
    def _no_symmetric_algorithms_for_jwks(cls, value: list[str]) -> list[str]:
        # HS* with a JWKS would let a public key act as a shared secret (key confusion).
        allowed = {"EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256"}
        bad = [alg for alg in value if alg not in allowed]
        if bad:
            raise ValueError(f"unsupported JWKS algorithms: {bad}; allowed: {sorted(allowed)}")
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        for part in (item.strip() for item in value.split(",")):
            if part == "*":
                continue
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(
                    f"not an address or CIDR: {part!r}; write e.g. '10.0.0.5,10.1.0.0/16' or '*'"
                ) from None
        return value

    @field_validator("rate_limit_writes", "rate_limit_reads", "rate_limit_stream_opens")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        # Parsed here so that a typo fails at start, naming the variable.
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError(f"not a rate limit: {value!r}; write e.g. '100/10 seconds'") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Platform-style URLs (postgres://, postgresql://) get the asyncpg driver.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                # libpq's `sslmode` (what hosting platforms hand out) is `ssl` to
                # SQLAlchemy's asyncpg dialect; `asyncpg_dsn` turns it back.
                return "postgresql+asyncpg://" + _rename_query_key(value[len(prefix) :], "sslmode", "ssl")
        if value.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + value[len("sqlite://") :]
        return value

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def dev_mode(self) -> bool:
        """Development mode: no real token verification is configured.

        Never active when a shared secret or a JWKS URL is set, and never in production.
        """
        return self.tasksync_env == "development" and not self.better_auth_secret and not self.jwks_url

    @property
    def asyncpg_dsn(self) -> str:
        """The database URL in the form asyncpg itself accepts (see `asyncpg_dsn_of`)."""
        return asyncpg_dsn_of(self.database_url)

    @property
    def statement_cache_size(self) -> int | None:
        """`?prepared_statement_cache_size=` of the database URL (0 behind a pooler in
        transaction mode), or None."""
        value = _query_value(self.database_url, STATEMENT_CACHE_KEY)
        return int(value) if value is not None and value.isdigit() else None

    @model_validator(mode="before")
    @classmethod
    def _carry_over_old_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get(_OLD_STREAMS_CAP) is not None:
            if data.get("max_streams_per_user") is None:
                data = {**data, "max_streams_per_user": data[_OLD_STREAMS_CAP]}
            # FutureWarning: meant for the people who run the server (shown by default).
            warnings.warn(
                "WS_MAX_SOCKETS_PER_USER is now MAX_STREAMS_PER_USER (it also caps SSE "
                "streams and long-polls); the old name is still read",
                FutureWarning,
                stacklevel=2,
            )
        return data

    def check_startable(self) -> None:
        """Fail fast, with an operator-readable message, on a configuration that cannot run."""
        if self.tasksync_env == "production" and not (self.better_auth_secret or self.jwks_url):
            raise ConfigurationError(
                "TASKSYNC_ENV=production needs BETTER_AUTH_SECRET or JWKS_URL: "
                "refusing to start without token verification"
            )
        if self.tasksync_env == "production" and "*" in (
            p.strip() for p in self.forwarded_allow_ips.split(",")
        ):
            # uvicorn then believes the left-most X-Forwarded-For entry, which any client
            # writes itself: every per-address limit would count what the client claims.
            raise ConfigurationError(
                "FORWARDED_ALLOW_IPS=* is refused in production: name the load balancers' "
                "addresses or networks (e.g. 10.0.0.0/8), whose X-Forwarded-For is believed "
                "from its right-most entry they did not add"
            )
        if self.better_auth_secret and len(self.better_auth_secret) < 32:
            raise ConfigurationError("BETTER_AUTH_SECRET must be at least 32 characters")

    def hs256_secret(self) -> str:
        """The HS256 secret: the configured one, or in development a per-checkout random one.

        The development secret lives in a file (created on first use) so the token
        minting command and the server agree on it without it being a well-known string.
        """
        if self.better_auth_secret:
            return self.better_auth_secret
        if not self.dev_mode:
            return ""
        path = Path(self.dev_secret_file)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
