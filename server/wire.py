"""JSON as the server writes it: compact, UTF-8, no ASCII escapes.

orjson encodes the hot responses and event bodies several times faster than the
standard library. It refuses what JSON text in UTF-8 cannot hold (lone surrogates) and
integers beyond 64 bits; those rare values fall back to the standard library, with
ASCII escapes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return _fallback(value)


def dump_bytes(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return _fallback(value).encode()


def _fallback(value: Any) -> str:
    # ASCII escapes keep a lone surrogate valid JSON in valid UTF-8 (and storable).
    return json.dumps(value, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """Parse JSON the server wrote itself (a stored response or event body)."""
    return orjson.loads(text)
