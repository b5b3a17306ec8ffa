"""A request's body as JSON, within the contract's size, time and media-type bounds
(400/408/413/415/422)."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from server.api.services import services
from server.errors import (
    BadRequest,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)

if TYPE_CHECKING:
    pass


JSON_TYPES = frozenset({"application/json"})


MERGE_PATCH_TYPES = frozenset({"application/json", "application/merge-patch+json"})


JSON_PATCH_TYPE = "application/json-patch+json"


PATCH_TYPES = MERGE_PATCH_TYPES | {JSON_PATCH_TYPE}


def media_type(request: Request) -> str:
    """The request's `Content-Type` without its parameters, lower-case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_json_object(request: Request, accepted: frozenset[str]) -> dict[str, Any]:
    """The request body as a JSON object, with the contract's 400/413/415/422 errors."""
    body = await read_json(request, accepted)
    if not isinstance(body, dict):
        raise ValidationFailed(
            "the body must be a JSON object", [field_error("body", "body", "expected an object")]
        )
    return body


async def read_json(request: Request, accepted: frozenset[str]) -> Any:
    """The request body as any JSON value, with the contract's 400/413/415 errors."""
    if media_type(request) not in accepted:
        raise UnsupportedMediaType(f"send the body as one of: {', '.join(sorted(accepted))}")
    settings = services(request).settings
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(settings.body_timeout_seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the body is over the {limit}-byte limit")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(
            f"the body did not arrive within {settings.body_timeout_seconds:g} s",
            # The rest of the body may still come: this connection cannot carry another request.
            headers={"Connection": "close"},
        ) from None
    try:
        body = json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, over-long integers
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
