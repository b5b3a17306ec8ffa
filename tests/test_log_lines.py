"""A development log line is one line whatever a request carries: a path arrives
percent-decoded, so `%0a` must not let a caller write a line of its own choosing."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from server.runtime.observability import configure_logging


@pytest.fixture
def plain_text_logging() -> Iterator[io.StringIO]:
    """Development's logging, as `python -m server serve` configures it, into a buffer."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging(json_lines=False, level="info")
    written = io.StringIO()
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(written)
    try:
        yield written
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_a_decoded_newline_cannot_forge_a_line(
    plain_text_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = "/api/tasks\nERROR server.auth.tokens: admin signed in\r"
    logging.getLogger("server.access").info("%s %s %s", "GET", forged, 404)
    lines = plain_text_logging.getvalue().splitlines()
    assert lines == [
        "INFO server.access: GET /api/tasks\\x0aERROR server.auth.tokens: admin signed in\\x0d 404"
    ]


def test_a_traceback_keeps_its_lines(plain_text_logging: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("server").exception("request failed")
    err = plain_text_logging.getvalue()
    assert err.startswith("ERROR server: request failed\nTraceback")
    assert "RuntimeError: boom" in err
