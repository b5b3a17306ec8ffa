"""A request's header field, read straight from the ASGI scope.

Starlette's `request.headers.get(name)` builds a `Headers` view, lower-cases and encodes
the name, and answers an absent field by raising and catching a `KeyError`; a write
looks up half a dozen fields, most of them absent, which cost about 3.5 µs alone. The
ASGI scope's header names are lower-case bytes (the ASGI spec), so one pass over them
gives the same answer: the first value, read as Latin-1 as Starlette reads it.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection


def header_field(conn: HTTPConnection, name: bytes) -> str | None:
    """The first value of the field `name` (lower-case bytes), or None."""
    pairs: list[tuple[bytes, bytes]] = conn.scope["headers"]
    for key, value in pairs:
        if key == name:
            return value.decode("latin-1")
    return None
