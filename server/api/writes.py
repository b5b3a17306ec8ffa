"""How every task write is run and answered: one transaction that claims the request's
`Idempotency-Key` (replaying a remembered response instead of writing again), performs
the domain operation and remembers its response, then a response carrying `ETag` and
`Tasksync-Seq`. The handlers in `server.api.tasks` only parse and pick the operation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server import wire
from server.api.services import services
from server.db.database import Tx
from server.tasks import idempotency
from server.tasks.operations import Written

Operation = Callable[[Tx], Awaitable[Written]]


def json_response(body: Any, status_code: int = 200, etag_version: int | None = None) -> Response:
    headers = {"ETag": f'"{etag_version}"'} if etag_version is not None else None
    return Response(
        wire.dump_bytes(body), status_code=status_code, media_type="application/json", headers=headers
    )


def task_response(task: dict[str, Any], status_code: int = 200) -> Response:
    return json_response(task, status_code, etag_version=task["version"])


def written_response(stored: idempotency.StoredResponse, version: int | None = None) -> Response:
    """The response of a committed write, first time or replayed: the same bytes either way.
    `version` is the task's, when the caller has it (else it is read from the body)."""
    return _written(stored.status_code, stored.body, stored.seq, version)


def _written(status_code: int, body: str | bytes, seq: int | None, version: int | None) -> Response:
    headers = {"Tasksync-Seq": str(seq)} if seq is not None else {}
    if not body:
        return Response(status_code=status_code, headers=headers)
    if version is None:
        version = wire.loads(body).get("version")
    if version is not None:
        headers["ETag"] = f'"{version}"'
    return Response(body, status_code, headers=headers, media_type="application/json")


async def perform(
    request: Request, user_id: str, key: str | None, body: Any, status_code: int, operation: Operation
) -> Response:
    """Run `operation` in one write transaction, exactly once per `Idempotency-Key`.

    `body` is the parsed JSON body (`None` for DELETE and complete; a list for a JSON
    Patch): with the method and path it is what makes a retry "the same request" under
    the `Idempotency-Key` `key`.
    """
    svc = services(request)
    remembered: idempotency.StoredResponse | None = None
    async with svc.db.transaction() as tx:
        if key is not None:
            digest = idempotency.request_hash(request.method, request.url.path, body)
            stored = await idempotency.claim(tx, user_id, key, digest, svc.settings.idempotency_ttl_hours)
            if stored is not None:
                replay = written_response(stored)
                replay.headers["Idempotent-Replayed"] = "true"
                return replay
        written = await operation(tx)
        if key is not None:
            remembered = idempotency.StoredResponse(
                status_code, "" if written.task is None else wire.dumps(written.task), written.seq
            )
            await idempotency.store(tx, user_id, key, remembered)
    task = written.task
    version = None if task is None else task["version"]
    if remembered is None:  # nothing remembered: the response is built once, as bytes
        return _written(status_code, b"" if task is None else wire.dump_bytes(task), written.seq, version)
    return written_response(remembered, version)
