"""The deliberately broken client: every edit a device sends as a JSON Patch of the
fields it changes is rewritten on the wire (by the device's proxy) into what a client
of whole-task preconditions sends, a merge patch of the same fields with `If-Match`
of the version the device showed when the user made the edit.

`TASKSYNC_CONFORMANCE_BREAK=whole-task-if-match` runs every scenario through it; each
must then fail (tests/conformance/README.md says how each does). It proves that the
scenarios test field-level merging, not merely that some write got through.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from tests.conformance.proxy import Request, patched_fields

ENV = "TASKSYNC_CONFORMANCE_BREAK"
MODE = "whole-task-if-match"


def broken_mode() -> bool:
    """Whether this run uses the broken client (an unknown mode is a typo: an error)."""
    value = os.environ.get(ENV, "").strip()
    if value and value != MODE:
        raise ValueError(f"{ENV}={value!r}: the only mode is {MODE!r}")
    return bool(value)


def _same(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()  # the clients trim titles before sending
    return type(a) is type(b) and a == b


@dataclass
class _Edit:
    fields: dict[str, Any]
    version: int


@dataclass
class WholeTaskIfMatch:
    """One device's rewriting: `note()` each edit as the user makes it, with the version
    shown; the proxy calls the object with each write request it carries."""

    _edits: dict[str, list[_Edit]] = field(default_factory=dict)
    _by_key: dict[str, int] = field(default_factory=dict)
    rewritten: int = 0

    def note(self, task_id: str, fields: dict[str, Any], version: int) -> None:
        self._edits.setdefault(task_id, []).append(_Edit(dict(fields), version))

    def __call__(self, request: Request) -> Request:
        fields = patched_fields(request)
        if fields is None:
            return request
        task_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        key = request.header("Idempotency-Key") or ""
        version = self._by_key.get(key) if key else None
        if version is None:
            version = self._version_seen(task_id, fields)
        if version is None:
            return request
        if key:
            self._by_key[key] = version  # a retry carries the same precondition
        self.rewritten += 1
        body = json.dumps(fields).encode()
        return request.with_body(body, "application/merge-patch+json").with_header("If-Match", f'"{version}"')

    def _version_seen(self, task_id: str, fields: dict[str, Any]) -> int | None:
        """The version shown when the oldest edit that asked for these values was made."""
        edits = self._edits.get(task_id, [])
        for index, edit in enumerate(edits):
            if all(name in edit.fields and _same(edit.fields[name], value) for name, value in fields.items()):
                del edits[index]
                return edit.version
        return edits[-1].version if edits else None
