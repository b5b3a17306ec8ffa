"""The header fields a write may carry (`X-Client-Id`, `Idempotency-Key`, `If-Match`,
`If-None-Match`), each bounded and validated (422 when not)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from server.api.fields import header_field
from server.errors import (
    ValidationFailed,
    field_error,
)

if TYPE_CHECKING:
    pass


# Header bounds of the contract.
CLIENT_ID_MAX = 64


IDEMPOTENCY_KEY_MAX = 255


IF_MATCH_MAX = 1024


def _as_text(value: str) -> str:
    # Starlette reads field values as Latin-1 (RFC 9110's obs-text), but clients send
    # UTF-8: read that way a key of 200 "é" would be 400 characters long and be stored
    # mangled. Bytes that are not UTF-8 keep their Latin-1 reading.
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _bounded_header(request: Request, name: str, limit: int) -> str | None:
    """A header's text value, 1 to `limit` characters (not bytes), with no control characters."""
    value = header_field(request, name.lower().encode())
    if value is None:
        return None
    if not value.isascii():
        value = _as_text(value)
    if not value or len(value) > limit:
        raise ValidationFailed(
            f"the {name} header must be 1 to {limit} characters",
            [field_error("header", name, f"must be 1 to {limit} characters")],
        )
    # Control characters are not valid in a field value (RFC 9110 §5.5). Lenient HTTP
    # servers (and ASGI transports) pass them through, and a NUL in Idempotency-Key
    # would otherwise reach PostgreSQL text and fail there as a 500.
    if any((ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in value):
        raise ValidationFailed(
            f"the {name} header must not contain control characters",
            [field_error("header", name, "must not contain control characters")],
        )
    return value


def client_id(request: Request) -> str | None:
    """`X-Client-Id`: carried on the caused event as `origin`."""
    return _bounded_header(request, "X-Client-Id", CLIENT_ID_MAX)


def idempotency_key(request: Request) -> str | None:
    return _bounded_header(request, "Idempotency-Key", IDEMPOTENCY_KEY_MAX)


def if_none_match_any(request: Request) -> bool:
    """Whether the request sent `If-None-Match: *` (create only if absent). Entity tags
    there would mean "unless it is at this version", which no task write needs."""
    value = _bounded_header(request, "If-None-Match", IF_MATCH_MAX)
    if value is None:
        return False
    if value.strip() != "*":
        raise ValidationFailed(
            "If-None-Match takes only *",
            [field_error("header", "If-None-Match", "only * (create if absent) is supported")],
        )
    return True


def if_match(request: Request) -> list[str] | None:
    """The entity tags of `If-Match`; weak tags never match (RFC 9110 strong comparison)."""
    value = _bounded_header(request, "If-Match", IF_MATCH_MAX)
    if value is None:
        return None
    return [tag.strip() for tag in value.split(",") if tag.strip()]


@dataclass(frozen=True)
class WriteHeaders:
    """What a write's header fields ask for, read once per request."""

    client_id: str | None
    idempotency_key: str | None
    if_match: list[str] | None
    create_if_absent: bool


def write_headers(request: Request, *, conditional: bool = True) -> WriteHeaders:
    """The write's header fields; `conditional=False` for a write that takes no
    preconditions (a create by `POST`), whose `If-Match`/`If-None-Match` are not read."""
    return WriteHeaders(
        client_id=client_id(request),
        idempotency_key=idempotency_key(request),
        if_match=if_match(request) if conditional else None,
        create_if_absent=if_none_match_any(request) if conditional else False,
    )
