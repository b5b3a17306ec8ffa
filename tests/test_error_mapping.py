"""One mapping from the error base to what a client sees: the HTTP status of a problem
and, on an open socket, the close code the contract gives the same condition."""

from __future__ import annotations

import pytest

from server.api.ws_session import Closed
from server.errors import (
    BadRequest,
    CloseCode,
    PayloadTooLarge,
    ServiceUnavailable,
    TasksyncError,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
    field_error,
)


@pytest.mark.parametrize(
    ("error", "status", "close_code"),
    [
        (Unauthorized("token expired"), 401, 4401),
        (TooManyRequests("slow down"), 429, 4429),
        (PayloadTooLarge("too big"), 413, 1009),
        (BadRequest("since must be an integer"), 400, 1008),
        (ValidationFailed("bad value", [field_error("query", "since", "bad value")]), 422, 1008),
        # The database out: reconnect with `since`, as after a restart; not a sign-out.
        (ServiceUnavailable("database unreachable"), 503, 1012),
        (TasksyncError("bug"), 500, 1011),
    ],
)
def test_an_error_means_one_status_and_one_close_code(
    error: TasksyncError, status: int, close_code: int
) -> None:
    assert error.to_problem()["status"] == status
    closed = Closed.of(error)
    assert (closed.code, closed.reason) == (close_code, error.detail)
    assert closed.code in set(CloseCode)


def test_a_close_reason_fits_a_close_frame() -> None:
    # A close frame's reason is at most 123 bytes; a long detail is cut, not an error.
    assert len(Closed.of(Unauthorized("x" * 500)).reason) <= 123
