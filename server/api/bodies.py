"""A request's body as JSON, within the contract's size, time and media-type bounds
(400/408/413/415/422)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from server.api.fields import header_field
from server.api.services import services
from server.errors import (
    BadRequest,
    PayloadTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from server.limits.http_guard import BODY_IN
from server.limits.inflight import IN_FLIGHT_STATE, Place

JSON_TYPES = frozenset({"application/json"})

# A number that may not fit in 64 bits (see `parse_json`).
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


MERGE_PATCH_TYPES = frozenset({"application/json", "application/merge-patch+json"})


JSON_PATCH_TYPE = "application/json-patch+json"


PATCH_TYPES = MERGE_PATCH_TYPES | {JSON_PATCH_TYPE}


def media_type(request: Request) -> str:
    """The request's `Content-Type` without its parameters, lower-case."""
    return (header_field(request, b"content-type") or "").split(";")[0].strip().lower()


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
    declared = header_field(request, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is over the {limit}-byte limit")
    if request.scope.get(BODY_IN):
        # All in already (see server.limits.http_guard): no wait, so no deadline, and no
        # reason to give the user's place at work up meanwhile.
        return parse_json(await _body(request, limit))
    place: Place | None = request.scope.get("state", {}).get(IN_FLIGHT_STATE)
    if place is not None:
        place.stop_working()  # waiting for the client is no work (see server.limits.inflight)
    try:
        async with asyncio.timeout(settings.body_timeout_seconds):
            body = await _body(request, limit)
    except TimeoutError:
        raise RequestTimeout(
            f"the body did not arrive within {settings.body_timeout_seconds:g} s",
            # The rest of the body may still come: this connection cannot carry another request.
            headers={"Connection": "close"},
        ) from None
    if place is not None:
        await place.resume_work()
    return parse_json(body)


async def _body(request: Request, limit: int) -> bytes:
    """The body's bytes, read from the ASGI `receive` (Starlette's `Request.stream`
    without its async generator: a few µs a request); over `limit` → 413."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the {limit}-byte limit")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    """`raw` as JSON, exactly as the standard library reads it (no NaN or Infinity).

    orjson reads nearly every body, about ten times faster. Whatever it refuses (a lone
    surrogate escape, UTF-16, or JSON that is not valid at all) is read again by the
    standard library, which accepts or refuses it as it always has; so is a body with a
    run of 19 or more digits, which orjson would read as a float where the standard
    library keeps an exact integer. The two never disagree on what a body means."""
    if _LONG_NUMBER.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("the JSON body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, over-long integers
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
