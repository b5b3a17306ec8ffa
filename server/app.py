"""`create_app()`: routes, middleware, error handlers and the lifespan.

Building the app does no I/O. The engine, the migrations, the fan-out (broadcaster +
listener) and the per-process hub open in the lifespan and close in reverse order.
`uvicorn server.app:app` works because `app` is built on first access (module
`__getattr__`), so importing this module has no side effects at all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
from sqlalchemy import exc as sa_exc
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from server.api.edge import Edge
from server.api.headers import HARDENING, VARY_ORIGIN
from server.api.routes import routes
from server.api.services import Services
from server.auth.tokens import TokenVerifier
from server.db.database import OutageLog, unreachable
from server.db.migrate import migrate
from server.db.open import open_database
from server.errors import (
    MethodNotAllowed,
    NotFound,
    QuotaExceeded,
    ServiceUnavailable,
    TasksyncError,
    problem_response,
)
from server.limits.inflight import InFlight
from server.limits.openings import Openings
from server.limits.ratelimit import RateLimiter
from server.limits.refusals import RefusalHold
from server.realtime.fanout import fanout_for, open_realtime
from server.runtime.lifecycle import on_drain
from server.runtime.metrics import Metrics
from server.runtime.observability import ensure_logging
from server.runtime.tuning import allocator_tuned, collector_tuned, freeze_startup_objects
from server.settings import Settings
from server.users import SeenUsers

log = logging.getLogger("server")

EXPOSED_HEADERS = [
    "ETag",
    "Idempotent-Replayed",
    "Tasksync-Seq",
    "X-Request-Id",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
]
ALLOWED_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Client-Id",
    "Last-Event-ID",
]


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TasksyncError)
    if isinstance(exc, QuotaExceeded):
        metrics: Metrics = request.app.state.metrics
        metrics.limited.labels("tasks").inc()
    return problem_response(exc)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return problem_response(NotFound("no such route"))
    if exc.status_code == 405:
        return problem_response(MethodNotAllowed(), headers=exc.headers)
    error = TasksyncError(exc.detail)
    error.status = exc.status_code
    return problem_response(error, headers=exc.headers)


async def _client_gone(_request: Request, _exc: Exception) -> Response:
    # The client hung up mid-request (a body shorter than its Content-Length, say): nobody
    # is left to answer, and it is no server error. 499 is nginx's "client closed
    # request", so the request's log line and metrics say what happened.
    return Response(status_code=499)


# Long enough for a PostgreSQL restart or failover to get under way, short enough that
# an offline-first client resends its queue soon after the database is back.
_OUTAGE_RETRY_AFTER = "2"


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    if unreachable(exc):
        outages: OutageLog = request.app.state.outages
        outages.failed(exc)
        error = ServiceUnavailable("the database cannot be reached; nothing was written, retry later")
        return problem_response(error, headers={"Retry-After": _OUTAGE_RETRY_AFTER})
    log.error("unhandled error", exc_info=exc)
    return problem_response(TasksyncError("an unexpected error occurred"))


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the ASGI app. Nothing is opened until the lifespan starts."""
    settings = settings or Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ensure_logging(json_lines=not settings.dev_mode, level=settings.log_level)
        settings.check_startable()
        if settings.jwks_url and not (settings.jwt_issuer and settings.jwt_audience):
            log.warning(
                "JWKS_URL is set without JWT_ISSUER and JWT_AUDIENCE: any token signed by those "
                "keys is accepted, including ones the issuer minted for other services"
            )
        if settings.dev_mode:
            log.warning(
                "development mode: tokens are HS256-signed with the secret in %s; "
                "set BETTER_AUTH_SECRET or JWKS_URL (and TASKSYNC_ENV=production) to deploy",
                settings.dev_secret_file,
            )
        allocator_tuned()
        async with AsyncExitStack() as stack:
            stack.enter_context(collector_tuned())
            if settings.migrate_on_start:
                await migrate(settings)
            fanout = fanout_for(settings, metrics)
            db = await open_database(settings, announcer=fanout.notifier)
            stack.push_async_callback(db.dispose)
            limiter = RateLimiter(settings, metrics)
            stack.push_async_callback(limiter.aclose)
            verifier = TokenVerifier(settings)
            stack.push_async_callback(verifier.aclose)
            svc = Services(
                settings=settings,
                db=db,
                verifier=verifier,
                seen_users=SeenUsers(),
                limiter=limiter,
                in_flight=InFlight(
                    settings.max_requests_in_flight_per_user, settings.max_requests_at_work_per_user
                ),
                openings=Openings(settings.ws_max_opening),
                refusals=RefusalHold(
                    settings.auth_refusal_delay_seconds, settings.auth_refusals_held_per_network
                ),
            )
            loop = asyncio.get_running_loop()

            def start_draining() -> None:
                # Called from the signal handler: hand the event over to the loop.
                loop.call_soon_threadsafe(svc.draining.set)

            stack.callback(on_drain(start_draining))
            svc.hub = await stack.enter_async_context(open_realtime(settings, db, fanout, metrics))
            app.state.services = svc
            freeze_startup_objects()
            yield

    app = Starlette(
        routes=routes(),
        # One layer for every connection: header bounds, request ids, CORS, response
        # fields, the access log and metric (see server.api.edge).
        middleware=[
            Middleware(
                Edge,
                metrics=metrics,
                send_timeout=settings.send_timeout_seconds,
                response_bytes_per_second=settings.max_response_bytes_per_second_per_user,
                fixed={**HARDENING, **VARY_ORIGIN},
                cors={
                    "allow_origins": settings.cors_origins,
                    "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                    "allow_headers": ALLOWED_HEADERS,
                    "expose_headers": EXPOSED_HEADERS,
                    "max_age": 600,
                },
            ),
        ],
        exception_handlers={
            TasksyncError: _domain_error,
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
            # Registered by class, not only as the catch-all `Exception`: Starlette
            # re-raises what reaches the catch-all (a second traceback, from uvicorn).
            sa_exc.DBAPIError: _unexpected_error,
            sa_exc.TimeoutError: _unexpected_error,
            OSError: _unexpected_error,
            asyncpg.PostgresError: _unexpected_error,
            asyncpg.InterfaceError: _unexpected_error,
            asyncpg.InternalClientError: _unexpected_error,  # a connection the server dropped
            Exception: _unexpected_error,
        },
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.outages = OutageLog()
    return app


def __getattr__(name: str) -> Starlette:
    # `uvicorn server.app:app` looks the attribute up; build the app only then.
    if name == "app":
        return create_app()
    raise AttributeError(name)
