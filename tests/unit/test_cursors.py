"""The task list's cursors: what a client gets back is what the next page starts
after, and a cursor that was changed, or belongs to another query, is a clear 422
(never a 500, never a page of someone's guess)."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any

import pytest

from server.errors import ValidationFailed
from server.tasks.listing import Cursor, ListQuery, decode_cursor, encode_cursor

pytestmark = pytest.mark.unit


def _raw(parts: Any) -> str:
    """A cursor spelled by hand, as a client tampering with one would."""
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "key", "decoded"),
    [
        ("created", None, None),
        ("title", "buy milk", "buy milk"),
        ("title", "лист ✓ 🥛", "лист ✓ 🥛"),
        ("due_date", "2026-12-24", date(2026, 12, 24)),
        ("due_date", None, None),  # past the last dated task: the undated ones
    ],
)
def test_a_cursor_gives_back_where_the_page_stopped(sort: Any, key: Any, decoded: Any) -> None:
    query = ListQuery(sort=sort, order="asc", status="pending")
    text = encode_cursor(query, key, 41)
    # Opaque and safe in a query string as it is.
    assert "=" not in text and "+" not in text and "/" not in text
    assert decode_cursor(text, sort, "asc", "pending") == Cursor(key=decoded, created_seq=41)


@pytest.mark.parametrize(
    ("sort", "order", "status"),
    [("title", "desc", "all"), ("created", "asc", "all"), ("created", "desc", "pending")],
)
def test_a_cursor_of_another_query_is_refused(sort: Any, order: Any, status: Any) -> None:
    text = encode_cursor(ListQuery(sort="created", order="desc", status="all"), None, 7)
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(text, sort, order, status)
    _assert_names_the_cursor(refused.value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("not a cursor!", id="not-base64"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
        pytest.param(_raw({"sort": "created"}), id="an-object"),
        pytest.param(_raw(["created", "desc", "all", None]), id="too-short"),
        pytest.param(_raw(["created", "desc", "all", None, 7, 8]), id="too-long"),
        pytest.param(_raw(["created", "desc", "all", None, "7"]), id="seq-as-text"),
        pytest.param(_raw(["created", "desc", "all", None, True]), id="seq-as-boolean"),
        pytest.param(_raw(["created", "desc", "all", None, 0]), id="seq-zero"),
        pytest.param(_raw(["created", "desc", "all", None, -3]), id="seq-negative"),
        pytest.param(_raw(["created", "desc", "all", None, 2**63]), id="seq-past-bigint"),
        pytest.param(_raw(["created", "desc", "all", None, 1.5]), id="seq-fraction"),
        pytest.param(_raw(["created", "desc", "all", "a key", 7]), id="created-with-a-key"),
        pytest.param("A" * 2001, id="longer-than-any-cursor"),
        pytest.param(_raw("[" * 5000), id="deeply-nested"),
    ],
)
def test_a_tampered_cursor_is_a_422_naming_the_cursor(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(text, "created", "desc", "all")
    _assert_names_the_cursor(refused.value)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(7, id="a-number"),
        pytest.param(None, id="null"),
        pytest.param("nul\x00inside", id="nul"),
        pytest.param("\ud800", id="lone-surrogate"),
        pytest.param("x" * 2001, id="too-long"),
    ],
)
def test_a_title_key_no_task_can_have_is_refused(key: Any) -> None:
    # Bound to the database, NUL or a lone surrogate would fail in the driver (a 500).
    with pytest.raises(ValidationFailed):
        decode_cursor(_raw(["title", "asc", "all", key, 3]), "title", "asc", "all")


@pytest.mark.parametrize("key", ["2026-02-30", "24.12.2026", 20261224, ""])
def test_a_due_date_key_that_is_no_date_is_refused(key: Any) -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(_raw(["due_date", "asc", "all", key, 3]), "due_date", "asc", "all")


def test_a_flipped_character_never_reads_as_another_valid_cursor_silently() -> None:
    # Every one-character change either is refused or still decodes to a cursor of this
    # query (base64's padding bits can absorb a change): never an exception of another kind.
    text = encode_cursor(ListQuery(sort="title", order="asc"), "milk", 12)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    refused = 0
    for index in range(len(text)):
        for char in alphabet[::7]:
            changed = text[:index] + char + text[index + 1 :]
            try:
                cursor = decode_cursor(changed, "title", "asc", "all")
            except ValidationFailed:
                refused += 1
            else:
                assert isinstance(cursor.key, str) and isinstance(cursor.created_seq, int)
    assert refused > 0


def _assert_names_the_cursor(error: ValidationFailed) -> None:
    problem = error.to_problem()
    assert problem["status"] == 422
    assert problem["detail"] == "invalid cursor"
    assert [e["loc"] for e in problem["errors"]] == [["query", "cursor"]]
