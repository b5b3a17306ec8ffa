"""JSON Patch documents of a task (RFC 6902, the part the contract takes): parsed and
validated whole before any database work, every mistake named by its operation, and
`test`s judged the way JSON compares values."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from server.errors import BadRequest, ValidationFailed
from server.tasks.json_patch import parse_json_patch

pytestmark = pytest.mark.unit

TASK = {
    "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "title": "Buy milk",
    "description": "",
    "completed": False,
    "due_date": "2026-12-24",
    "version": 3,
}


def test_replacements_are_validated_as_a_put_would_validate_them() -> None:
    patch = parse_json_patch(
        [
            {"op": "replace", "path": "/title", "value": "  Buy oat milk  "},
            {"op": "replace", "path": "/completed", "value": True},
            {"op": "add", "path": "/due_date", "value": "2027-01-02"},  # add on a member is replace
            {"op": "replace", "path": "/description", "value": "the 1 l carton"},
        ]
    )
    assert patch.tests == ()
    assert patch.changes == {
        "title": "Buy oat milk",  # trimmed, as on every write
        "completed": True,
        "due_date": date(2027, 1, 2),
        "description": "the 1 l carton",
    }


def test_a_due_date_can_be_cleared() -> None:
    assert parse_json_patch([{"op": "replace", "path": "/due_date", "value": None}]).changes == {
        "due_date": None
    }


def test_the_later_of_two_replacements_of_one_field_wins() -> None:
    patch = parse_json_patch(
        [
            {"op": "replace", "path": "/title", "value": "first"},
            {"op": "replace", "path": "/title", "value": "second"},
        ]
    )
    assert patch.changes == {"title": "second"}


def test_tests_that_hold_report_nothing_and_the_others_say_what_was_there() -> None:
    patch = parse_json_patch(
        [
            {"op": "test", "path": "/version", "value": 3},
            {"op": "test", "path": "/title", "value": "Buy milk"},
            {"op": "test", "path": "/due_date", "value": "2026-12-24"},
            {"op": "test", "path": "/completed", "value": True},
            {"op": "test", "path": "/description", "value": "something else"},
            {"op": "replace", "path": "/title", "value": "Buy oat milk"},
        ]
    )
    assert patch.failed_tests(TASK) == [
        {"path": "/completed", "expected": True, "actual": False},
        {"path": "/description", "expected": "something else", "actual": ""},
    ]
    assert patch.failed_tests({**TASK, "completed": True, "description": "something else"}) == []


def test_a_test_compares_with_json_equality_so_true_is_not_1() -> None:
    # Python says True == 1; JSON (and the contract) do not.
    patch = parse_json_patch([{"op": "test", "path": "/completed", "value": True}])
    assert patch.failed_tests({**TASK, "completed": 1}) == [
        {"path": "/completed", "expected": True, "actual": 1}
    ]


def test_a_test_of_a_title_compares_with_the_stored_text_untrimmed() -> None:
    patch = parse_json_patch([{"op": "test", "path": "/title", "value": " Buy milk"}])
    assert patch.failed_tests(TASK) == [{"path": "/title", "expected": " Buy milk", "actual": "Buy milk"}]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"op": "replace", "path": "/title", "value": "x"}, id="an-object"),
        pytest.param("replace /title", id="a-string"),
        pytest.param([{"op": "replace", "path": "/title", "value": "x"}, "and this"], id="a-non-object-op"),
        pytest.param(None, id="null"),
    ],
)
def test_a_body_that_is_no_array_of_operations_is_a_400(body: Any) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_json_patch(body)
    assert refused.value.status == 400


def test_every_invalid_operation_is_named_at_once_by_its_position() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_json_patch(
            [
                {"op": "replace", "path": "/title", "value": "fine"},
                {"op": "remove", "path": "/title"},  # not an operation the contract takes
                {"op": "replace", "path": "/version", "value": 9},  # version is only tested
                {"op": "replace", "path": "/owner", "value": "mallory"},
                {"op": "replace", "path": "/title"},
                {"op": "replace", "path": "/title", "value": "   "},
                {"op": "replace", "path": "/completed", "value": "yes"},
                {"op": "test", "path": "/version", "value": True},
                {"op": "test", "path": "/version", "value": 0},
                {"op": "replace", "path": "/due_date", "value": "20261224"},
                {"op": "test", "path": "/title", "value": 5},
            ]
        )
    problem = refused.value.to_problem()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [
        "1.op",
        "2.path",
        "3.path",
        "4.value",
        "5.value",
        "6.value",
        "7.value",
        "8.value",
        "9.value",
        "10.value",
    ]
    by_field = {e["field"]: e["msg"] for e in problem["errors"]}
    assert "/version" not in by_field["2.path"]  # a replace is told the paths it may use
    assert by_field["4.value"] == "is required"
    assert "empty" in by_field["5.value"]


def test_an_empty_document_changes_nothing() -> None:
    patch = parse_json_patch([])
    assert (patch.tests, patch.changes) == ((), {})
