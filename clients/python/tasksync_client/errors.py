"""The client's exceptions, and which of them are worth retrying.

    TasksyncError
    ├── ApiError                 an HTTP error answer; .status, .problem, .detail
    │   ├── BadRequest           400 (malformed JSON, a negative `since`)
    │   ├── Unauthorized         401 (missing, invalid or expired token)
    │   ├── NotFound             404 (missing, or another user's task)
    │   ├── EditConflict         409 (a JSON Patch test failed); .current, .conflicts
    │   ├── PreconditionFailed   412 (stale If-Match); .current is the task now
    │   ├── ValidationError      422; .errors names each invalid field
    │   ├── RateLimited          429; .retry_after
    │   └── ServerError          5xx
    ├── TransportError           the network failed; .sent says whether the request
    │                            may have reached the server
    ├── StreamClosed             a live socket was closed; .code, .reason
    ├── TokenProviderError       the token provider raised
    ├── StoreClosedError         a write through a LiveTasks that cannot send it
    ├── StoreLockedError         the store file is open for the same user elsewhere
    └── ProtocolError            the server sent something the contract does not allow

`is_retryable(exc)` says whether trying again later can help.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError as _PydanticError

from tasksync_client.models import FieldError, Problem, Task


class TasksyncError(Exception):
    """The base of every exception this package raises."""


class ApiError(TasksyncError):
    """The server answered with an error status and (usually) a problem document."""

    def __init__(self, status: int, problem: Problem, headers: httpx.Headers | None = None) -> None:
        super().__init__(f"{status} {problem.title or 'error'}: {problem.detail}".rstrip(": "))
        self.status = status
        self.problem = problem
        self.headers = headers if headers is not None else httpx.Headers()

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def type(self) -> str:
        return self.problem.type


class BadRequest(ApiError):
    """400: the request could not be read (for example, malformed JSON)."""


class Unauthorized(ApiError):
    """401 (or websocket close 4401): the token is missing, invalid or expired."""


class NotFound(ApiError):
    """404: no such task for this user (another user's tasks are never revealed)."""


class PreconditionFailed(ApiError):
    """412: the `If-Match` version is stale; `current` is the task as it is now."""

    @property
    def current(self) -> Task | None:
        return _current(self.problem)


@dataclass(frozen=True, slots=True)
class FailedTest:
    """One `test` of a JSON Patch that did not hold: at `path` the request expected
    `expected`, the task holds `actual`."""

    path: str
    expected: Any
    actual: Any

    @property
    def field(self) -> str:
        """The task field the test was about (`path` without its leading slash)."""
        return self.path.removeprefix("/")


class EditConflict(ApiError):
    """409: a `test` of a JSON Patch edit failed and nothing was written.

    `current` is the task as it is now; `conflicts` the tests that failed.
    """

    @property
    def current(self) -> Task | None:
        return _current(self.problem)

    @property
    def conflicts(self) -> list[FailedTest]:
        raw = (self.problem.model_extra or {}).get("conflicts")
        if not isinstance(raw, list):
            return []
        return [
            FailedTest(item["path"], item.get("expected"), item.get("actual"))
            for item in raw
            if isinstance(item, dict) and isinstance(item.get("path"), str)
        ]


def _current(problem: Problem) -> Task | None:
    raw = (problem.model_extra or {}).get("current")
    return Task.model_validate(raw) if isinstance(raw, dict) else None


class ValidationError(ApiError):
    """422: invalid fields, query parameters or headers; `errors` names each one."""

    @property
    def errors(self) -> list[FieldError]:
        raw = (self.problem.model_extra or {}).get("errors")
        if not isinstance(raw, list):
            return []
        return [FieldError.model_validate(item) for item in raw if isinstance(item, dict)]


class RateLimited(ApiError):
    """429: too many requests; `retry_after` is the server's hint in seconds, if any."""

    @property
    def retry_after(self) -> float | None:
        return retry_after(self.headers)


class ServerError(ApiError):
    """5xx: the server (or a proxy in front of it) failed."""


class TransportError(TasksyncError):
    """The network failed. `sent` is False only when the request surely never left."""

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class StreamClosed(TasksyncError):
    """A live connection ended; `code` is the websocket close code (1006: no close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"stream closed with {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class TokenProviderError(TasksyncError):
    """The token provider raised; the original exception is the `__cause__`."""


class StoreClosedError(TasksyncError):
    """A write through a `LiveTasks` that cannot send it: never started, closed, or
    signed out. Nothing was queued."""


class StoreLockedError(TasksyncError):
    """The store file is open for the same API origin and user in another `LiveTasks`,
    here or in another process: two would send the same queue. Close that one first
    (its lock goes when it closes or its process ends)."""


class ProtocolError(TasksyncError):
    """The server sent something the contract does not allow."""


# Close codes after which reconnecting (resuming with `since`) is the right move:
# abnormal closure, going away, internal error, restart, try again later, bad gateway,
# too slow (4408) and too many sockets (4429, others may close meanwhile).
RETRYABLE_CLOSE_CODES = frozenset({1000, 1001, 1006, 1011, 1012, 1013, 1014, 4408, 4429})
RETRYABLE_STATUSES = frozenset({408, 425, 429})
AUTH_CLOSE_CODE = 4401

_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    404: NotFound,
    409: EditConflict,
    412: PreconditionFailed,
    422: ValidationError,
    429: RateLimited,
}


def is_retryable(exc: BaseException) -> bool:
    """Whether the same operation may succeed if tried again later.

    Network failures, 5xx, 408/425/429 and the reconnect close codes (1006, 1011, 1012,
    4408, …) are; 4xx answers and the close codes of a broken request (1003, 1008,
    1009, 4403) are not. Authentication failures (401, 4401) are not either: they can
    only be cured by a new token, see `is_auth_failure`.
    """
    if isinstance(exc, TransportError):
        return True
    if isinstance(exc, ApiError):
        return exc.status >= 500 or exc.status in RETRYABLE_STATUSES
    if isinstance(exc, StreamClosed):
        return exc.code in RETRYABLE_CLOSE_CODES
    return False


def is_auth_failure(exc: BaseException) -> bool:
    """Whether `exc` means the token was refused (401, close 4401, a failing provider)."""
    if isinstance(exc, StreamClosed):
        return exc.code == AUTH_CLOSE_CODE
    return isinstance(exc, Unauthorized | TokenProviderError)


# A socket closed 4429 (too many sockets, or too many stream opens) carries its wait in
# the reason ("… retry in 12 s"); without one, this long at least.
TOO_MANY_SOCKETS = 4429
TOO_MANY_SOCKETS_WAIT = 5.0
_RETRY_IN = re.compile(r"retry in (\d{1,5}) s")


def server_wait(exc: BaseException) -> float | None:
    """How long the server asked us to wait before trying again, if it did: a 429's or
    503's `Retry-After`, or the wait a 4429 close names."""
    if isinstance(exc, ApiError) and exc.status in (429, 503):
        return retry_after(exc.headers)
    if isinstance(exc, StreamClosed) and exc.code == TOO_MANY_SOCKETS:
        found = _RETRY_IN.search(exc.reason)
        return float(found.group(1)) if found else TOO_MANY_SOCKETS_WAIT
    return None


def retry_after(headers: httpx.Headers) -> float | None:
    """The `Retry-After` header in seconds (only the delta-seconds form)."""
    raw = headers.get("retry-after", "")
    return float(raw) if raw.isdigit() else None


def api_error(status: int, body: bytes, headers: httpx.Headers | None = None, reason: str = "") -> ApiError:
    """The typed exception for an error answer, its problem document parsed if present."""
    problem = _problem(status, body, reason)
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    return cls(status, problem, headers)


def error_from_response(response: httpx.Response) -> ApiError:
    return api_error(response.status_code, response.content, response.headers, response.reason_phrase)


def _problem(status: int, body: bytes, reason: str) -> Problem:
    try:
        data: Any = json.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        try:
            return Problem.model_validate({"status": status, **data})
        except _PydanticError:
            pass
    text = body.decode("utf-8", "replace").strip()[:500]
    return Problem(status=status, title=reason, detail=text)
