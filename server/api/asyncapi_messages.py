"""The messages of the AsyncAPI document (`server.api.asyncapi`), built from the frame models.

Each frame model (`server.realtime.messages`) is one message, keyed by its name in
`components.messages`, with its JSON schema in `components.schemas`. The SSE channel
carries some of them again as `sse.<key>`, whose `headers` are the SSE fields
(`event:`, and `id:` for an event).
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel

from server.realtime.messages import (
    EVENTS,
    Auth,
    Error,
    Hello,
    Ping,
    Pong,
    Resync,
    TaskCreated,
    TaskDeleted,
    TaskUpdated,
)

_REF = "#/components/schemas/{model}"
# key in components.messages: (model, summary)
MESSAGES: dict[str, tuple[type[BaseModel], str]] = {
    "hello": (Hello, "The first frame: the user and the head of their sequence"),
    "taskCreated": (TaskCreated, "A task was created"),
    "taskUpdated": (TaskUpdated, "A task was changed"),
    "taskDeleted": (TaskDeleted, "A task was deleted"),
    "resync": (Resync, "The history asked for is not kept: refetch"),
    "ping": (Ping, "Is the socket alive?"),
    "pong": (Pong, "The answer to ping"),
    "auth": (Auth, "Authenticate (browsers) or extend the session with a fresh token"),
    "error": (Error, "A message the socket could not take; it stays open"),
}
EVENT_KEYS = ["taskCreated", "taskUpdated", "taskDeleted"]
# What the SSE stream sends: it is one way, so it has no auth, ping, pong or error.
SSE_KEYS = ["hello", *EVENT_KEYS, "resync"]


def component_schemas() -> dict[str, Any]:
    """`components.schemas`: every frame model's schema and the models it refers to."""
    out: dict[str, Any] = {}
    for model, _summary in MESSAGES.values():
        schema = model.model_json_schema(ref_template=_REF, mode="serialization")
        out.update(schema.pop("$defs", {}))
        out[schema["title"]] = schema
    return out


def component_messages() -> dict[str, Any]:
    """`components.messages`: each message as a socket frame, then as an SSE message."""
    return {
        **{key: _message(key) for key in MESSAGES},
        **{f"sse.{key}": _sse_message(key) for key in SSE_KEYS},
    }


def _wire_type(model: type[BaseModel]) -> str:
    """The frame's `type`: its model's `Literal`."""
    (literal,) = get_args(model.model_fields["type"].annotation)
    return str(literal)


def _message(key: str) -> dict[str, Any]:
    model, summary = MESSAGES[key]
    return {
        "name": _wire_type(model),
        "title": model.__name__,
        "summary": summary,
        "description": (model.__doc__ or summary).strip(),
        "contentType": "application/json",
        "payload": {"$ref": _REF.format(model=model.__name__)},
    }


def _sse_message(key: str) -> dict[str, Any]:
    model, _summary = MESSAGES[key]
    fields: dict[str, Any] = {"event": {"const": _wire_type(model), "description": "The SSE `event:` field"}}
    if model in EVENTS:
        fields["id"] = {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "The SSE `id:` field: the seq",
        }
    return {
        **_message(key),
        "headers": {"type": "object", "properties": fields, "required": list(fields)},
    }
