"""Thin task handlers: parse → domain function in one transaction → response."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from server import idempotency, tasks
from server.api.deps import (
    JSON_TYPES,
    MERGE_PATCH_TYPES,
    authenticate,
    client_id,
    idempotency_key,
    if_match,
    read_json_object,
    services,
)
from server.errors import ValidationFailed, field_error
from server.listing import DEFAULT_LIMIT, MAX_LIMIT, ListQuery, decode_cursor, list_tasks
from server.schemas import parse_fields, parse_patch

_CHOICES: dict[str, tuple[str, ...]] = {
    "status": ("all", "pending", "completed"),
    "sort": ("created", "title", "due_date"),
    "order": ("asc", "desc"),
}


def json_response(body: Any, status_code: int = 200, etag_version: int | None = None) -> Response:
    headers = {"ETag": f'"{etag_version}"'} if etag_version is not None else None
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def task_response(task: dict[str, Any], status_code: int = 200) -> Response:
    return json_response(task, status_code, etag_version=task["version"])


def parse_list_query(params: QueryParams) -> ListQuery:
    errors = []
    chosen: dict[str, Any] = {}
    for name, allowed in _CHOICES.items():
        value = params.get(name)
        if value is None:
            continue
        if value not in allowed:
            errors.append(field_error("query", name, f"must be one of {', '.join(allowed)}"))
        chosen[name] = value
    limit = DEFAULT_LIMIT
    raw_limit = params.get("limit")
    if raw_limit is not None:
        if raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_LIMIT:
            limit = int(raw_limit)
        else:
            errors.append(field_error("query", "limit", f"must be an integer from 1 to {MAX_LIMIT}"))
    if errors:
        raise ValidationFailed("invalid query parameters", errors)
    query = ListQuery(limit=limit, **chosen)
    raw_cursor = params.get("cursor")
    if raw_cursor:
        cursor = decode_cursor(raw_cursor, query.sort, query.order, query.status)
        query = ListQuery(query.status, query.sort, query.order, query.limit, cursor)
    return query


async def list_endpoint(request: Request) -> Response:
    user = await authenticate(request)
    query = parse_list_query(request.query_params)
    async with services(request).db.read() as conn:
        items, seq, next_cursor = await list_tasks(conn, user.user_id, query)
    return json_response({"items": items, "seq": seq, "next_cursor": next_cursor})


async def create_endpoint(request: Request) -> Response:
    user = await authenticate(request)
    key, origin = idempotency_key(request), client_id(request)
    body = await read_json_object(request, JSON_TYPES)
    fields = parse_fields(body)
    svc = services(request)
    async with svc.db.transaction() as tx:
        if key is not None:
            digest = idempotency.request_hash(body)
            stored = await idempotency.claim(
                tx, user.user_id, key, digest, svc.settings.idempotency_ttl_hours
            )
            if stored is not None:
                replay = json.loads(stored.body)
                response = json_response(replay, stored.status_code, replay.get("version"))
                response.headers["Idempotent-Replayed"] = "true"
                return response
        task = await tasks.create_task(tx, user.user_id, fields, origin)
        if key is not None:
            await idempotency.store(tx, user.user_id, key, 201, json.dumps(task))
    return task_response(task, 201)


async def get_endpoint(request: Request) -> Response:
    user = await authenticate(request)
    async with services(request).db.read() as conn:
        task = await tasks.get_task(conn, user.user_id, request.path_params["task_id"])
    return task_response(task)


async def put_endpoint(request: Request) -> Response:
    user = await authenticate(request)
    expected, origin = if_match(request), client_id(request)
    fields = parse_fields(await read_json_object(request, JSON_TYPES))
    async with services(request).db.transaction() as tx:
        task = await tasks.replace_task(
            tx, user.user_id, request.path_params["task_id"], fields, expected, origin
        )
    return task_response(task)


async def patch_endpoint(request: Request) -> Response:
    user = await authenticate(request)
    expected, origin = if_match(request), client_id(request)
    changes = parse_patch(await read_json_object(request, MERGE_PATCH_TYPES))
    async with services(request).db.transaction() as tx:
        task = await tasks.update_task(
            tx, user.user_id, request.path_params["task_id"], changes, expected, origin
        )
    return task_response(task)


async def complete_endpoint(request: Request) -> Response:
    user = await authenticate(request)
    expected, origin = if_match(request), client_id(request)
    async with services(request).db.transaction() as tx:
        task = await tasks.toggle_task(tx, user.user_id, request.path_params["task_id"], expected, origin)
    return task_response(task)


async def delete_endpoint(request: Request) -> Response:
    user = await authenticate(request)
    expected, origin = if_match(request), client_id(request)
    async with services(request).db.transaction() as tx:
        await tasks.delete_task(tx, user.user_id, request.path_params["task_id"], expected, origin)
    return Response(status_code=204)
