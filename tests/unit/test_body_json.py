"""A request body means what the standard library reads in it, whichever parser runs."""

from __future__ import annotations

import json

import pytest

from server.api.bodies import parse_json
from server.errors import BadRequest

SAME = [
    b'{"title":"Buy milk","completed":false,"due_date":null}',
    b'{"a":1,"a":2}',  # the last of a repeated name
    b'{"t":"\\ud800"}',  # a lone surrogate escape: orjson refuses it, the library keeps it
    b'{"n":1234567890123456789012345678}',  # past 64 bits: an exact integer, not a float
    b'{"n":-9223372036854775809}',
    b'{"n":9223372036854775807}',
    b'{"f":1.00000000000000000001}',
    '{"x":"é"}'.encode("utf-16"),  # the library detects UTF-16 and UTF-32
    b'  [1, 2.5, "\\u00e9", {"k": []}]  ',
    b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark, which the library skips
]


@pytest.mark.parametrize("raw", SAME)
def test_a_body_reads_as_the_standard_library_reads_it(raw: bytes) -> None:
    parsed, expected = parse_json(raw), json.loads(raw)
    assert repr(parsed) == repr(expected)  # types too: 1 is not 1.0


@pytest.mark.parametrize("raw", [b'{"x": NaN}', b"[Infinity]", b"{", b"[" * 100_000])
def test_what_is_not_json_is_a_bad_request(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_json(raw)
