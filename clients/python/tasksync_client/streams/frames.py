"""What a live transport yields: `Hello`, then `ChangeEvent`s in order, or `Resync`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as _PydanticError

from tasksync_client.errors import ProtocolError
from tasksync_client.models import ChangeEvent

EVENT_TYPES = frozenset({"task.created", "task.updated", "task.deleted"})


@dataclass(frozen=True, slots=True)
class Hello:
    """The subscription is in place. `seq` is the server's head, where the transport says it."""

    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Resync:
    """The server cannot continue gap-free from `since`: the tasks must be refetched."""

    seq: int | None = None


StreamItem = Hello | Resync | ChangeEvent


def parse_event(data: Any) -> ChangeEvent:
    try:
        return ChangeEvent.model_validate(data)
    except _PydanticError as exc:
        raise ProtocolError(f"not a change event: {str(data)[:200]}") from exc


def parse_frame(data: Any) -> StreamItem | None:
    """A websocket frame's item; None for frames the mirror has no use for (pong, error,
    and types a newer server may add)."""
    if not isinstance(data, dict):
        raise ProtocolError(f"expected a JSON object, got {str(data)[:200]}")
    kind = data.get("type")
    seq = data.get("seq")
    seq = seq if isinstance(seq, int) else None
    if kind == "hello":
        return Hello(seq)
    if kind == "resync":
        return Resync(seq)
    if kind in EVENT_TYPES:
        return parse_event(data)
    return None
