"""JSON Patch (RFC 6902) documents of a task: what `PATCH` with
`application/json-patch+json` takes, so that edits of *different* fields from several
devices merge instead of conflicting.

A document is parsed and validated whole before any database work (`parse_json_patch`);
the domain then judges its `test`s against the task as it is under the user's write
lock (`TaskJsonPatch.failed_tests`) and applies its replacements in one write.

Only what the product needs of RFC 6902 is taken: `test` and `replace` (`add` on one of
these members means `replace`) on the editable fields, and `test` on `/version`. Every
`test` is judged against the task *before* the patch (the contract's rule: all tests
hold, then all replacements apply), so the order of operations only matters between
two replacements of one field, where the later one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from pydantic import StrictBool, TypeAdapter, ValidationError

from server.errors import BadRequest, ValidationFailed, field_error
from server.schemas import Description, DueDate, EditableField, Title

# In the order `changed` lists them (the contract's order of the editable fields).
EDITABLE: tuple[EditableField, ...] = ("title", "description", "completed", "due_date")

_REPLACED: dict[str, TypeAdapter[Any]] = {
    "title": TypeAdapter(Title),
    "description": TypeAdapter(Description),
    "completed": TypeAdapter(StrictBool),
    "due_date": TypeAdapter(DueDate),
}


def _positive_int(value: Any) -> int:
    # JSON's `true` is not 1 here: a version is a number, never a boolean.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("must be a positive integer")
    return value


def _test_value(name: str, value: Any) -> Any:
    """A `test` value as the wire carries the field, checked for its type only: a test
    compares with the stored value, so a title is not trimmed and may be any length."""
    if name == "version":
        return _positive_int(value)
    if name in ("title", "description"):
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value
    if name == "completed":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    # due_date: the wire's text form, which is also what it is compared with.
    parsed = _REPLACED["due_date"].validate_python(value)
    return None if parsed is None else parsed.isoformat()


@dataclass(frozen=True, slots=True)
class FieldTest:
    """One `test` operation: the member (`title`, …, or `version`) and the JSON value it must hold."""

    name: str
    value: Any

    @property
    def path(self) -> str:
        return "/" + self.name


@dataclass(frozen=True, slots=True)
class TaskJsonPatch:
    """A parsed document: its tests, and the fields it sets (validated, as `update_task` takes them)."""

    tests: tuple[FieldTest, ...]
    changes: dict[str, Any]

    def failed_tests(self, current: dict[str, Any]) -> list[dict[str, Any]]:
        """The tests that do not hold against `current` (a task as the wire has it), as
        the `409` problem's `conflicts`: `{path, expected, actual}` each."""
        failed = []
        for test in self.tests:
            actual = current[test.name]
            # JSON equality: `type` keeps `true` from equalling `1`.
            if type(actual) is not type(test.value) or actual != test.value:
                failed.append({"path": test.path, "expected": test.value, "actual": actual})
        return failed


_OPS = ("test", "replace", "add")
_PATHS = {"/" + name: name for name in (*EDITABLE, "version")}


def parse_json_patch(body: Any) -> TaskJsonPatch:
    """Parse and validate a JSON Patch document of a task.

    A body that is not an array of objects is a `400`; an unknown operation or path, a
    missing member or an invalid value is a `422` whose `errors` name the operation
    (`"2.path"`: the third operation's `path`).
    """
    if not isinstance(body, list) or not all(isinstance(op, dict) for op in body):
        raise BadRequest("a JSON Patch document is a JSON array of operation objects")
    errors: list[dict[str, Any]] = []
    tests: list[FieldTest] = []
    changes: dict[str, Any] = {}
    for index, operation in enumerate(cast(list[dict[str, Any]], body)):
        op, path = operation.get("op"), operation.get("path")
        if op not in _OPS:
            errors.append(field_error("body", f"{index}.op", f"must be one of {', '.join(_OPS)}"))
            continue
        name = _PATHS.get(path) if isinstance(path, str) else None
        if name is None or (name == "version" and op != "test"):
            allowed = ", ".join(p for p in _PATHS if op == "test" or p != "/version")
            errors.append(field_error("body", f"{index}.path", f"must be one of {allowed}"))
            continue
        if "value" not in operation:
            errors.append(field_error("body", f"{index}.value", "is required"))
            continue
        try:
            if op == "test":
                tests.append(FieldTest(name, _test_value(name, operation["value"])))
            else:
                changes[name] = _REPLACED[name].validate_python(operation["value"])
        except ValidationError as exc:
            message = exc.errors(include_url=False, include_input=False, include_context=False)[0]["msg"]
            errors.append(field_error("body", f"{index}.value", message))
        except ValueError as exc:
            errors.append(field_error("body", f"{index}.value", str(exc)))
    if errors:
        raise ValidationFailed("invalid JSON Patch document", errors)
    return TaskJsonPatch(tuple(tests), changes)
