"""`/healthz` (the process answers) and `/readyz` (database and listener usable)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api.services import services
from server.errors import TasksyncError, problem_response


class NotReady(TasksyncError):
    status = 503
    slug = "not-ready"
    title = "Not ready"


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    svc = services(request)
    limit = svc.settings.ready_timeout_seconds
    try:
        async with asyncio.timeout(limit):
            await svc.db.ping()
    except TimeoutError:
        return problem_response(NotReady(f"the database did not answer within {limit:g} s"))
    except Exception as exc:
        cause = getattr(exc, "orig", None) or exc
        return problem_response(NotReady(f"the database is not reachable ({type(cause).__name__})"))
    if svc.hub is None or not svc.hub.ready():
        return problem_response(NotReady("the change listener is reconnecting"))
    return JSONResponse({"status": "ok"})
