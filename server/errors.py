"""One error base, its RFC 9457 problem+json rendering, and the websocket close codes.

Domain code raises a `TasksyncError` subclass; one handler in `server.app` renders it.
Nothing else in the server builds an error response by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from starlette.responses import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"


class CloseCode(IntEnum):
    """Websocket close codes of the contract."""

    UNSUPPORTED_DATA = 1003
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    NOT_AUTHENTICATED = 4401
    ORIGIN_REFUSED = 4403
    TOO_SLOW = 4408
    TOO_MANY_SOCKETS = 4429  # also: too many stream opens, or messages on one socket (rate limits)


class TasksyncError(Exception):
    """The base of every error a client can be told about: over HTTP as a problem with
    `status`, over an open websocket as a close with `close_code` (the one mapping of
    both; `server.api.ws_session.Closed.of`)."""

    status: int = 500
    close_code: int = CloseCode.INTERNAL_ERROR
    slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(self, detail: str = "", *, headers: Mapping[str, str] | None = None, **members: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.members = members
        # Response header fields that belong to this error (`Retry-After`, rate limits).
        self.headers = dict(headers or {})

    @property
    def type(self) -> str:
        return f"urn:tasksync:problem:{self.slug}"

    def to_problem(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.members,
        }


class ConfigurationError(TasksyncError):
    slug = "configuration"
    title = "Server misconfigured"


class BadRequest(TasksyncError):
    status = 400
    close_code = CloseCode.POLICY_VIOLATION
    slug = "bad-request"
    title = "Bad request"


class Unauthorized(TasksyncError):
    status = 401
    close_code = CloseCode.NOT_AUTHENTICATED
    slug = "unauthorized"
    title = "Not authenticated"


class NotFound(TasksyncError):
    status = 404
    slug = "not-found"
    title = "Not found"


class MethodNotAllowed(TasksyncError):
    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"


class QuotaExceeded(TasksyncError):
    """The user holds as many tasks as allowed; `limit` says how many."""

    status = 403
    slug = "quota-exceeded"
    title = "Quota exceeded"


class PreconditionFailed(TasksyncError):
    """`If-Match` named a version that is no longer current; `current` is the task now."""

    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class EditConflict(TasksyncError):
    """A JSON Patch `test` did not hold (RFC 5789's "conflicting state"): nothing was
    written; `current` is the task now and `conflicts` names each failed test."""

    status = 409
    slug = "conflict"
    title = "Conflicting edit"


class PayloadTooLarge(TasksyncError):
    status = 413
    close_code = CloseCode.MESSAGE_TOO_BIG
    slug = "payload-too-large"
    title = "Payload too large"


class RequestTimeout(TasksyncError):
    """The body did not arrive in time; the connection is closed after this answer."""

    status = 408
    slug = "request-timeout"
    title = "Request timeout"


class UnsupportedMediaType(TasksyncError):
    status = 415
    close_code = CloseCode.UNSUPPORTED_DATA
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class TooManyRequests(TasksyncError):
    """Over a per-user rate limit; the headers say when to come back."""

    status = 429
    close_code = CloseCode.TOO_MANY_SOCKETS
    slug = "rate-limited"
    title = "Too many requests"


class ServiceUnavailable(TasksyncError):
    """The database cannot be reached: nothing was written; retry after `Retry-After`."""

    status = 503
    close_code = CloseCode.SERVICE_RESTART
    slug = "unavailable"
    title = "Service unavailable"


class ValidationFailed(TasksyncError):
    """Invalid fields or parameters; `errors` names each one."""

    status = 422
    close_code = CloseCode.POLICY_VIOLATION
    slug = "validation-error"
    title = "Validation failed"

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail, errors=errors)


class IdempotencyKeyReused(ValidationFailed):
    slug = "idempotency-key-reused"
    title = "Idempotency key reused with another request"


def field_error(location: str, name: str, message: str) -> dict[str, Any]:
    """One entry of a validation problem's `errors` list."""
    return {"loc": [location, name], "field": name, "msg": message}


def problem_response(error: TasksyncError, headers: Mapping[str, str] | None = None) -> Response:
    all_headers = {**error.headers, **(headers or {})}
    if isinstance(error, Unauthorized):
        all_headers.setdefault("WWW-Authenticate", 'Bearer realm="tasksync"')
    return Response(
        json.dumps(error.to_problem(), ensure_ascii=False),
        status_code=error.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=all_headers,
    )
