"""The OpenAPI 3.1 document, generated from the pydantic wire models.

Every status an operation can answer with is listed, with its media type, so that a
client generator (and schemathesis, in the test suite) sees the API as it behaves.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from server.api.services import services
from server.schemas import ChangesPage, Health, Problem, Task, TaskFields, TaskList, TaskPatch

_REF = "#/components/schemas/{model}"
_MAX_18_DIGITS = 10**18 - 1

_STATUS_TEXT = {
    400: "Malformed JSON, or a bad `since`",
    401: "Missing or invalid bearer token",
    404: "No such task for this user (another user's task is as absent as a missing one)",
    409: "A JSON Patch `test` did not hold: nothing written; `current` is the task now, "
    "`conflicts` each failed test",
    412: "A stale `If-Match`, or (`If-None-Match: *`) the id is taken; `current` is the task now",
    408: "The body did not arrive within BODY_TIMEOUT_SECONDS; the connection is closed",
    413: "Body over the size limit",
    415: "Body is not JSON by its Content-Type",
    422: "Invalid fields, query parameters or header values; `errors` names each",
    403: "The user holds the most tasks allowed (`type` ends in `quota-exceeded`): delete some first",
    429: "Over one of the user's rate limits (`type` ends in `rate-limited`): retry after `Retry-After`",
    503: "The database cannot be reached: nothing was written; retry after `Retry-After`",
}
_NOT_READY = "Not ready: the database or the change listener cannot be used now"
_RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "Seconds until a retry can succeed", "schema": {"type": "string"}},
    "RateLimit": {"description": 'Where the caller stands: `"writes";r=0;t=4`', "schema": {"type": "string"}},
    "RateLimit-Policy": {"description": 'The budget: `"writes";q=100;w=10`', "schema": {"type": "string"}},
}
# Problem members that only some problems carry: absent otherwise, never null.
_OPTIONAL_PROBLEM_MEMBERS = ("errors", "current", "conflicts")


def _schemas() -> dict[str, Any]:
    out: dict[str, Any] = {}
    models: list[tuple[type[BaseModel], str]] = [
        (TaskFields, "validation"),
        (TaskPatch, "validation"),
        (Task, "serialization"),
        (TaskList, "serialization"),
        (ChangesPage, "serialization"),
        (Problem, "serialization"),
        (Health, "serialization"),
    ]
    for model, mode in models:
        schema = model.model_json_schema(ref_template=_REF, mode=mode)  # type: ignore[arg-type]
        if mode == "validation":
            _defaults_in_words(schema, omitted_means_default=model is TaskFields)
        out.update(schema.pop("$defs", {}))
        out[schema.get("title", model.__name__)] = schema
    out["TaskJsonPatch"] = _json_patch_schema(out["TaskInput"]["properties"])
    for name in _OPTIONAL_PROBLEM_MEMBERS:
        member = out["Problem"]["properties"][name]
        member.pop("default", None)
        # `X | None` in the model, so that a problem can leave it out; on the wire it is
        # left out rather than null, and a generated client should type it as optional.
        member.update(next(branch for branch in member.pop("anyOf") if branch.get("type") != "null"))
    return out


def _service_answers(paths: dict[str, Any]) -> None:
    """Every route under /api answers `429` (a rate limit) and `503` (the database is
    out of reach) whatever it does; the routes that create also `403` (the task quota)."""
    creating = {("/api/tasks", "post"), ("/api/tasks/{task_id}", "put")}
    for path, item in paths.items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            responses.update(_problems(503))
            responses["429"] = {**_problems(429)["429"], "headers": _RATE_LIMIT_HEADERS}
            if (path, method) in creating:
                responses.update(_problems(403))


def _defaults_in_words(schema: dict[str, Any], *, omitted_means_default: bool) -> None:
    """Drop the `default` of each member of a request body, saying it in its description
    instead: openapi-typescript (as configured out of the box) types a member that has a
    `default` as one every request must send. In a merge patch an omitted member is left
    as it is, so there the default is dropped without a word."""
    for member in schema.get("properties", {}).values():
        if "default" not in member:
            continue
        default = json.dumps(member.pop("default"))
        if omitted_means_default:
            note = f"`{default}` when omitted"
            member["description"] = f"{member['description']}; {note}" if "description" in member else note


def _json_patch_schema(fields: dict[str, Any]) -> dict[str, Any]:
    """`TaskJsonPatch`: the operations `PATCH` takes as `application/json-patch+json`, one
    schema per operation and path (see `server.tasks.json_patch`). A `test` compares with the
    stored value, so its title is any string; a replacement is validated as any write."""
    tested = {
        "title": {"type": "string"},
        "description": {"type": "string"},
        "completed": {"type": "boolean"},
        "due_date": fields["due_date"],
        "version": {"type": "integer", "minimum": 1},
    }
    operations = []
    for name, value in tested.items():
        operations.append(_operation(["test"], name, value))
        if name != "version":
            operations.append(_operation(["replace", "add"], name, fields[name]))
    return {
        "title": "TaskJsonPatch",
        "description": (
            "RFC 6902: every `test` must hold against the task as it is, then every `replace` "
            "applies (one version, one event); a failed test is a `409` that writes nothing"
        ),
        "type": "array",
        "items": {"oneOf": operations},
    }


def _operation(ops: list[str], name: str, value: dict[str, Any]) -> dict[str, Any]:
    op = {"const": ops[0]} if len(ops) == 1 else {"enum": ops}
    return {
        "title": f"{ops[0].capitalize()} {name}",
        "type": "object",
        "properties": {"op": op, "path": {"const": f"/{name}"}, "value": value},
        "required": ["op", "path", "value"],
    }


_DEV_TOKEN: dict[str, Any] = {
    "post": {
        "operationId": "devToken",
        "summary": "Development mode only: a token for any user name, for this machine's callers",
        "description": (
            "Served only in development mode (no BETTER_AUTH_SECRET, no JWKS_URL, never with "
            "TASKSYNC_ENV=production), to a loopback caller naming a loopback host; anywhere "
            "else the route does not exist (404), and this document does not list it."
        ),
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"user": {"type": "string", "minLength": 1, "maxLength": 255}},
                        "required": ["user"],
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "A token for `user`",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"token": {"type": "string"}},
                            "required": ["token"],
                        }
                    }
                },
            },
            "404": {"description": "Not development mode, or not this machine"},
        },
    }
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(code): {
            "description": _STATUS_TEXT[code],
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
        for code in statuses
    }


def _header(name: str, description: str, max_length: int) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": max_length},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_ETAG = {"ETag": {"description": 'The task version, quoted: `"3"`', "schema": {"type": "string"}}}
_WRITE_HEADERS = {
    "Tasksync-Seq": {
        "description": "The seq of the change event this write recorded (its echo on every stream)",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the remembered response of an earlier request with this key",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
_TASK_ID = {"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}
_IF_MATCH = _header("If-Match", 'Only write if the task is at this version (`"3"`)', 1024)
_CLIENT_ID = _header("X-Client-Id", "Echoed as the caused event's `origin`", 64)
_IDEM_KEY = _header(
    "Idempotency-Key",
    "A retry with the same key, method, path and body replays the first response and changes "
    "nothing; the same key with another request is a 422. Remembered at least 24 hours.",
    255,
)
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "`*`: create the task under this id (a lower-case UUID) unless the caller has it",
    "schema": {"type": "string", "enum": ["*"]},
}
_WRITE_PARAMS = [_IF_MATCH, _IDEM_KEY, _CLIENT_ID]


def _task_response(code: str, description: str, *, write: bool = True) -> dict[str, Any]:
    return {
        code: {
            "description": description,
            "headers": {**_ETAG, **(_WRITE_HEADERS if write else {})},
            "content": {"application/json": {"schema": _ref("Task")}},
        }
    }


def _json_body(name: str, media_types: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    return {"required": True, "content": {m: {"schema": _ref(name)} for m in media_types}}


def build_document(*, dev: bool = False) -> dict[str, Any]:
    """The document; `dev` adds the development-mode token route (absent otherwise, as
    the route itself is: outside development mode it answers 404 like an unknown one)."""
    write_errors = _problems(400, 401, 404, 408, 412, 413, 415, 422)
    task_path = {
        "parameters": [_TASK_ID],
        "get": {
            "operationId": "getTask",
            "summary": "One task",
            "responses": {**_task_response("200", "The task", write=False), **_problems(401, 404)},
        },
        "put": {
            "operationId": "replaceTask",
            "summary": (
                "Replace the editable fields (omitted optional fields reset); "
                "with `If-None-Match: *`, create the task with this id"
            ),
            "parameters": [*_WRITE_PARAMS, _IF_NONE_MATCH],
            "requestBody": _json_body("TaskInput"),
            "responses": {
                **_task_response("200", "The replaced task"),
                **_task_response("201", "Created with this id (`If-None-Match: *`)"),
                **write_errors,
            },
        },
        "patch": {
            "operationId": "patchTask",
            "summary": "Change some fields (JSON merge patch, or JSON Patch with field tests)",
            "parameters": _WRITE_PARAMS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _ref("TaskPatch")},
                    "application/merge-patch+json": {"schema": _ref("TaskPatch")},
                    "application/json-patch+json": {"schema": _ref("TaskJsonPatch")},
                },
            },
            "responses": {
                **_task_response("200", "The patched task"),
                **write_errors,
                **_problems(409),
            },
        },
        "delete": {
            "operationId": "deleteTask",
            "summary": "Delete a task",
            "parameters": _WRITE_PARAMS,
            "responses": {
                "204": {"description": "Deleted", "headers": _WRITE_HEADERS},
                **_problems(401, 404, 412, 422),
            },
        },
    }
    # `since` and `wait` are read as at most 18 digits (they fit a 64-bit integer);
    # longer numbers are refused, so the document bounds them too.
    since = {"type": "integer", "minimum": 0, "maximum": _MAX_18_DIGITS}
    paths: dict[str, Any] = {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Up",
                        "content": {"application/json": {"schema": _ref("Health")}},
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness (database, listener)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "Ready",
                        "content": {"application/json": {"schema": _ref("Health")}},
                    },
                    "503": {**_problems(503)["503"], "description": _NOT_READY},
                },
            }
        },
        "/api/tasks": {
            "get": {
                "operationId": "listTasks",
                "summary": "List the caller's tasks, with the change seq of the snapshot",
                "parameters": [
                    _query(
                        "status",
                        {"enum": ["all", "pending", "completed"], "default": "all"},
                        "Filter",
                    ),
                    _query(
                        "sort",
                        {"enum": ["created", "title", "due_date"], "default": "created"},
                        "Sort key",
                    ),
                    _query("order", {"enum": ["asc", "desc"], "default": "desc"}, "Direction"),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                        "Page size",
                    ),
                    _query("cursor", {"type": "string"}, "`next_cursor` of the previous page"),
                ],
                "responses": {
                    "200": {
                        "description": "A page",
                        "content": {"application/json": {"schema": _ref("TaskList")}},
                    },
                    **_problems(401, 422),
                },
            },
            "post": {
                "operationId": "createTask",
                "summary": "Create a task",
                "parameters": [_IDEM_KEY, _CLIENT_ID],
                "requestBody": _json_body("TaskInput"),
                "responses": {
                    **_task_response("201", "Created (or the replayed first response)"),
                    **_problems(400, 401, 408, 413, 415, 422),
                },
            },
        },
        "/api/tasks/{task_id}": task_path,
        "/api/tasks/{task_id}/complete": {
            "parameters": [_TASK_ID],
            "patch": {
                "operationId": "toggleTask",
                "summary": "Toggle `completed`",
                "parameters": _WRITE_PARAMS,
                "responses": {
                    **_task_response("200", "The toggled task"),
                    **_problems(401, 404, 412, 422),
                },
            },
        },
        "/api/changes": {
            "get": {
                "operationId": "listChanges",
                "summary": "The caller's change events after `since` (long-poll with `wait`)",
                "parameters": [
                    _query("since", since, "Events after this seq"),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                        "Page size",
                    ),
                    _query(
                        "wait",
                        {"type": "integer", "minimum": 0, "maximum": _MAX_18_DIGITS},
                        "Long-poll seconds (capped at 30)",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "Events",
                        "content": {"application/json": {"schema": _ref("ChangesPage")}},
                    },
                    **_problems(400, 401, 422),
                },
            },
        },
        "/api/events": {
            "get": {
                "operationId": "streamEvents",
                "summary": "Server-sent events: `id:` seq, `event:` type, `data:` the event",
                "parameters": [
                    _query("since", since, "Resume after this seq (or send Last-Event-ID)"),
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "An event stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_problems(400, 401),
                },
            },
        },
    }
    _service_answers(paths)
    if dev:
        route = copy.deepcopy(_DEV_TOKEN)
        route["post"]["responses"].update(_problems(400, 413, 415, 422))
        paths["/api/dev/token"] = route
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tasksync API",
            "version": "0.1.0",
            "description": (
                "Personal task lists that stay live. Every change is a numbered event in the "
                "user's log, delivered over `GET /api/ws` (WebSocket), `GET /api/events` (SSE) "
                "and `GET /api/changes` (polling). See docs/protocol.md for the sync contract."
            ),
        },
        "externalDocs": {"description": "The live protocol (AsyncAPI 3.0)", "url": "/asyncapi.json"},
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


@cache
def _document_json(dev: bool) -> bytes:
    return json.dumps(build_document(dev=dev)).encode()


async def openapi_endpoint(request: Request) -> Response:
    dev = services(request).settings.dev_mode
    return Response(_document_json(dev), media_type="application/json")
