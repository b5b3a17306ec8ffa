"""Thin task handlers: parse → domain function in one transaction → response."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from server.api.bodies import (
    JSON_PATCH_TYPE,
    JSON_TYPES,
    PATCH_TYPES,
    media_type,
    read_json,
    read_json_object,
)
from server.api.caller import authenticate
from server.api.services import services
from server.api.write_headers import write_headers
from server.api.writes import json_response, perform, task_response
from server.errors import ValidationFailed, field_error
from server.limits.ratelimit import Budget
from server.schemas import parse_fields, parse_patch
from server.tasks import operations as tasks
from server.tasks.json_patch import parse_json_patch
from server.tasks.listing import DEFAULT_LIMIT, MAX_LIMIT, ListQuery, decode_cursor, list_tasks

_CHOICES: dict[str, tuple[str, ...]] = {
    "status": ("all", "pending", "completed"),
    "sort": ("created", "title", "due_date"),
    "order": ("asc", "desc"),
}


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
    user = await authenticate(request, Budget.READS)
    query = parse_list_query(request.query_params)
    async with services(request).db.read() as conn:
        items, seq, next_cursor = await list_tasks(
            conn, user.user_id, query, max_bytes=services(request).settings.max_page_bytes
        )
    return json_response({"items": items, "seq": seq, "next_cursor": next_cursor})


async def create_endpoint(request: Request) -> Response:
    user = await authenticate(request, Budget.WRITES)
    headers = write_headers(request, conditional=False)
    origin = headers.client_id
    body = await read_json_object(request, JSON_TYPES)
    fields = parse_fields(body)
    quota = services(request).settings.max_tasks_per_user
    return await perform(
        request,
        user.user_id,
        headers.idempotency_key,
        body,
        201,
        lambda tx: tasks.create_task(tx, user.user_id, fields, origin, quota=quota),
    )


async def get_endpoint(request: Request) -> Response:
    user = await authenticate(request, Budget.READS)
    async with services(request).db.read() as conn:
        task = await tasks.get_task(conn, user.user_id, request.path_params["task_id"])
    return task_response(task)


async def put_endpoint(request: Request) -> Response:
    """Replace a task; with `If-None-Match: *`, create it under the id in the path."""
    user = await authenticate(request, Budget.WRITES)
    headers = write_headers(request)
    expected, origin, create = headers.if_match, headers.client_id, headers.create_if_absent
    task_id: str = request.path_params["task_id"]
    if create:
        if expected is not None:
            raise ValidationFailed(
                "If-Match and If-None-Match cannot both be sent",
                [field_error("header", "If-None-Match", "send it alone to create")],
            )
        tasks.check_client_id(task_id)
    body = await read_json_object(request, JSON_TYPES)
    fields = parse_fields(body)
    quota = services(request).settings.max_tasks_per_user
    if create:
        return await perform(
            request,
            user.user_id,
            headers.idempotency_key,
            body,
            201,
            lambda tx: tasks.create_task(tx, user.user_id, fields, origin, quota=quota, task_id=task_id),
        )
    return await perform(
        request,
        user.user_id,
        headers.idempotency_key,
        body,
        200,
        lambda tx: tasks.replace_task(tx, user.user_id, task_id, fields, expected, origin),
    )


async def patch_endpoint(request: Request) -> Response:
    """A JSON merge patch, or a JSON Patch document (field-level preconditions)."""
    user = await authenticate(request, Budget.WRITES)
    headers = write_headers(request)
    expected, origin = headers.if_match, headers.client_id
    task_id: str = request.path_params["task_id"]
    if media_type(request) == JSON_PATCH_TYPE:
        document = await read_json(request, PATCH_TYPES)
        patch = parse_json_patch(document)
        return await perform(
            request,
            user.user_id,
            headers.idempotency_key,
            document,
            200,
            lambda tx: tasks.patch_task(tx, user.user_id, task_id, patch, expected, origin),
        )
    body = await read_json_object(request, PATCH_TYPES)
    changes = parse_patch(body)
    return await perform(
        request,
        user.user_id,
        headers.idempotency_key,
        body,
        200,
        lambda tx: tasks.update_task(tx, user.user_id, task_id, changes, expected, origin),
    )


async def complete_endpoint(request: Request) -> Response:
    user = await authenticate(request, Budget.WRITES)
    headers = write_headers(request)
    expected, origin = headers.if_match, headers.client_id
    task_id: str = request.path_params["task_id"]
    return await perform(
        request,
        user.user_id,
        headers.idempotency_key,
        None,
        200,
        lambda tx: tasks.toggle_task(tx, user.user_id, task_id, expected, origin),
    )


async def delete_endpoint(request: Request) -> Response:
    user = await authenticate(request, Budget.WRITES)
    headers = write_headers(request)
    expected, origin = headers.if_match, headers.client_id
    task_id: str = request.path_params["task_id"]
    return await perform(
        request,
        user.user_id,
        headers.idempotency_key,
        None,
        204,
        lambda tx: tasks.delete_task(tx, user.user_id, task_id, expected, origin),
    )
