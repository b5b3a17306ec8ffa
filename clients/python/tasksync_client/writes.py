"""A write as data (`WriteRequest`) and what the server answered to it (`WriteResult`).

Every write the client sends is one of these, so the same record can be sent, kept in
an outbox across a restart, retried with the same `Idempotency-Key`, and explained in
a conflict.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from tasksync_client.models import Task

Method = Literal["POST", "PUT", "PATCH", "DELETE"]
# The contract's bound on Idempotency-Key.
IDEMPOTENCY_KEY_MAX = 255


def new_key() -> str:
    """A fresh `Idempotency-Key`."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One write, exactly as it goes on the wire.

    `if_match` makes it conditional on that version; `if_none_match=True` sends
    `If-None-Match: *` (a `PUT` that creates the task under the id in the path).
    `idempotency_key` identifies the write across retries: the server applies it once
    and answers every retry with the first answer. `client_id` overrides the client's
    own `X-Client-Id` (a write queued by an earlier process keeps the id it had).
    """

    method: Method
    path: str
    body: dict[str, Any] | None = None
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
        if self.method == "PATCH" and self.body is not None:
            headers["Content-Type"] = "application/merge-patch+json"
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
