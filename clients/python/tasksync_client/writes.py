"""A write as data (`WriteRequest`) and what the server answered to it (`WriteResult`).

Every write the client sends is one of these, so the same record can be sent, kept in
an outbox across a restart, retried with the same `Idempotency-Key`, and explained in
a conflict.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from tasksync_client.models import Task

Method = Literal["POST", "PUT", "PATCH", "DELETE"]
Body = dict[str, Any] | list[dict[str, Any]]
"""A JSON object (a task's fields, a merge patch) or a JSON Patch document."""
# The contract's bound on Idempotency-Key.
IDEMPOTENCY_KEY_MAX = 255
# The editable fields, in the order the contract lists them (and patches name them).
EDITABLE = ("title", "description", "completed", "due_date")
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


def new_key() -> str:
    """A fresh `Idempotency-Key`."""
    return str(uuid.uuid4())


def json_patch(seen: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A JSON Patch that sets each field of `wanted` only if it still holds its `seen` value.

    `json_patch({"title": "Buy milk"}, {"title": "Buy oat milk"})` is
    `[{"op": "test", "path": "/title", "value": "Buy milk"},
    {"op": "replace", "path": "/title", "value": "Buy oat milk"}]`; a field of `wanted`
    missing from `seen` is replaced without a test.
    """
    patch: list[dict[str, Any]] = []
    for name in sorted(wanted, key=_field_order):
        if name in seen:
            patch.append({"op": "test", "path": f"/{name}", "value": seen[name]})
        patch.append({"op": "replace", "path": f"/{name}", "value": wanted[name]})
    return patch


def _field_order(name: str) -> tuple[int, str]:
    return (EDITABLE.index(name) if name in EDITABLE else len(EDITABLE), name)


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One write, exactly as it goes on the wire.

    `body` is a JSON object, or a list (a JSON Patch document, sent as
    `application/json-patch+json`; a `PATCH` with an object is a JSON merge patch).
    `if_match` makes it conditional on that version; `if_none_match=True` sends
    `If-None-Match: *` (a `PUT` that creates the task under the id in the path).
    `idempotency_key` identifies the write across retries: the server applies it once
    and answers every retry with the first answer. `client_id` overrides the client's
    own `X-Client-Id` (a write queued by an earlier process keeps the id it had).
    """

    method: Method
    path: str
    body: Body | None = None
    if_match: int | None = None
    if_none_match: bool = False
    idempotency_key: str = field(default_factory=new_key)
    client_id: str | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.idempotency_key) <= IDEMPOTENCY_KEY_MAX:
            raise ValueError(f"an Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX} characters")

    def headers(self) -> dict[str, str]:
        headers = {"Idempotency-Key": self.idempotency_key}
        if self.if_match is not None:
            headers["If-Match"] = f'"{self.if_match}"'
        if self.if_none_match:
            headers["If-None-Match"] = "*"
        if isinstance(self.body, list):
            headers["Content-Type"] = JSON_PATCH
        elif self.method == "PATCH" and self.body is not None:
            headers["Content-Type"] = MERGE_PATCH
        if self.client_id is not None:
            headers["X-Client-Id"] = self.client_id
        return headers

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "if_match": self.if_match,
            "if_none_match": self.if_none_match,
            "idempotency_key": self.idempotency_key,
            "client_id": self.client_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WriteRequest:
        return cls(
            method=data["method"],
            path=data["path"],
            body=data.get("body"),
            if_match=data.get("if_match"),
            if_none_match=bool(data.get("if_none_match")),
            idempotency_key=data["idempotency_key"],
            client_id=data.get("client_id"),
        )


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The server's answer to a successful write.

    `task` is the task as written (None for a delete's `204`); `seq` is the
    `Tasksync-Seq` of the change event the write recorded: a live mirror whose `seq`
    has reached it has seen this write. `replayed` says the server answered a retry
    with the first attempt's answer (`Idempotent-Replayed: true`).
    """

    status: int
    task: Task | None
    seq: int | None
    replayed: bool = False

    @classmethod
    def from_response(cls, response: httpx.Response) -> WriteResult:
        raw_seq = response.headers.get("tasksync-seq", "")
        carries_task = response.status_code in (200, 201) and bool(response.content)
        task = Task.model_validate_json(response.content) if carries_task else None
        return cls(
            status=response.status_code,
            task=task,
            seq=int(raw_seq) if raw_seq.isdigit() else None,
            replayed=response.headers.get("idempotent-replayed", "").lower() == "true",
        )
