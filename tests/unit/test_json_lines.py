"""The production log handler's direct lines (`JsonLinesHandler.write_line`, what each
access line takes) are the lines a `LogRecord` would have made, and are taken only while
nothing else would see the record."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from server.runtime.observability import JsonLinesHandler

FIELDS = {"request_id": "r-1", "method": "POST", "path": "/api/tasks", "status": 201, "user_id": None}


@pytest.fixture
def isolated() -> Iterator[tuple[logging.Logger, JsonLinesHandler, io.StringIO]]:
    """`tasksync-test.access` under a parent of its own that does not propagate to the
    root, with one JSON handler on the parent (`alone` puts it back: pytest adds its
    capture handlers to non-propagating loggers too while a test runs)."""
    out = io.StringIO()
    handler = JsonLinesHandler(out)
    parent = logging.getLogger("tasksync-test")
    parent.propagate = False
    parent.handlers[:] = [handler]
    child = logging.getLogger("tasksync-test.access")
    child.setLevel(logging.INFO)
    yield child, handler, out
    parent.handlers[:] = []
    parent.filters[:] = []
    child.handlers[:] = []
    child.filters[:] = []


def alone(logger: logging.Logger, handler: JsonLinesHandler) -> None:
    assert logger.parent is not None
    logger.parent.handlers[:] = [handler]


def test_a_direct_line_is_the_line_its_record_makes(
    isolated: tuple[logging.Logger, JsonLinesHandler, io.StringIO],
) -> None:
    logger, handler, out = isolated
    alone(logger, handler)
    record = logger.makeRecord(
        logger.name, logging.INFO, __file__, 0, "%s %s", ("POST", 201), None, extra=FIELDS
    )
    logger.handle(record)
    handler.write_line(record.created, "info", logger.name, "POST 201", FIELDS)
    via_record, direct = out.getvalue().splitlines()
    assert direct == via_record
    assert json.loads(direct) == {
        "time": json.loads(direct)["time"],
        "level": "info",
        "logger": "tasksync-test.access",
        "message": "POST 201",
        **FIELDS,
    }


def test_the_direct_way_is_taken_only_while_the_handler_is_alone_and_unfiltered(
    isolated: tuple[logging.Logger, JsonLinesHandler, io.StringIO],
) -> None:
    logger, handler, _ = isolated
    alone(logger, handler)
    assert JsonLinesHandler.sole_handler_of(logger, logging.INFO) is handler
    assert JsonLinesHandler.sole_handler_of(logger, logging.DEBUG) is handler
    handler.setLevel(logging.WARNING)
    assert JsonLinesHandler.sole_handler_of(logger, logging.INFO) is None
    handler.setLevel(logging.NOTSET)

    capture = logging.StreamHandler(io.StringIO())  # e.g. a test's capture, an operator's extra
    logger.addHandler(capture)
    assert JsonLinesHandler.sole_handler_of(logger, logging.INFO) is None
    logger.removeHandler(capture)

    drop_all = logging.Filter("somewhere-else")
    logger.parent.addFilter(drop_all)  # type: ignore[union-attr]
    assert JsonLinesHandler.sole_handler_of(logger, logging.INFO) is None
    logger.parent.removeFilter(drop_all)  # type: ignore[union-attr]
    handler.addFilter(drop_all)
    assert JsonLinesHandler.sole_handler_of(logger, logging.INFO) is None
    handler.removeFilter(drop_all)

    # Records reaching the root pass pytest's handlers there too.
    logger.parent.propagate = True  # type: ignore[union-attr]
    assert JsonLinesHandler.sole_handler_of(logger, logging.INFO) is None
    logger.parent.propagate = False  # type: ignore[union-attr]
    assert JsonLinesHandler.sole_handler_of(logger, logging.INFO) is handler


class CountingStream(io.StringIO):
    """A stream that counts its writes (each a system call on a real one)."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


async def test_lines_of_one_loop_turn_go_out_in_one_write_in_order_by_the_next_turn() -> None:
    out = CountingStream()
    handler = JsonLinesHandler(out)
    for n in range(3):
        handler.write_line(1.0, "info", "access", f"line {n}", {})
    assert out.getvalue() == ""  # waiting for the end of this turn
    await asyncio.sleep(0)
    assert [json.loads(line)["message"] for line in out.getvalue().splitlines()] == [
        "line 0",
        "line 1",
        "line 2",
    ]
    assert out.writes == 1

    # Any other record goes out after the lines already waiting, at once.
    handler.write_line(1.0, "info", "access", "line 3", {})
    handler.handle(logging.makeLogRecord({"msg": "a warning", "levelname": "WARNING", "name": "x"}))
    messages = [json.loads(line)["message"] for line in out.getvalue().splitlines()]
    assert messages[-2:] == ["line 3", "a warning"]

    # As do flush() and close(), for lines written just before the process ends.
    handler.write_line(1.0, "info", "access", "line 4", {})
    handler.flush()
    assert json.loads(out.getvalue().splitlines()[-1])["message"] == "line 4"
    handler.write_line(1.0, "info", "access", "line 5", {})
    handler.close()
    assert json.loads(out.getvalue().splitlines()[-1])["message"] == "line 5"


def test_without_a_running_loop_a_line_goes_out_at_once() -> None:
    out = io.StringIO()
    JsonLinesHandler(out).write_line(1.0, "info", "access", "now", {})
    assert json.loads(out.getvalue())["message"] == "now"
