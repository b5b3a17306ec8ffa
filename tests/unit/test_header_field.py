"""`header_field` answers as Starlette's `Headers.get` does, for every field a write reads."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from server.api.fields import header_field

HEADERS = [
    (b"host", b"example.test"),
    (b"authorization", b"Bearer abc"),
    (b"if-match", b'"1"'),
    (b"if-match", b'"2"'),  # repeated: the first one counts, as in Starlette
    (b"x-client-id", "café".encode()),  # UTF-8 bytes, read as Latin-1 as Starlette does
]


@pytest.mark.parametrize("name", ["authorization", "if-match", "x-client-id", "idempotency-key", "host"])
def test_a_field_reads_as_starlette_reads_it(name: str) -> None:
    request = Request({"type": "http", "headers": HEADERS, "method": "POST", "path": "/"})
    assert header_field(request, name.encode()) == request.headers.get(name)
