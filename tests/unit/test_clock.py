"""The log's clock: every stamp a write takes is UTC at whole milliseconds (what the wire
format carries), so a stamp read back from the database equals the one sent out."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from server.realtime.log import now


def test_a_stamp_is_utc_at_whole_milliseconds_and_the_current_time() -> None:
    before = datetime.now(UTC)
    stamps = [now() for _ in range(20_000)]
    after = datetime.now(UTC)
    assert all(s.tzinfo is UTC and s.microsecond % 1000 == 0 for s in stamps)
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= stamps[0] <= stamps[-1] <= after


def test_every_millisecond_of_a_second_converts_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # The float of a whole millisecond is not exact; `fromtimestamp` must still land on it.
    base = 1_800_000_000_000  # ms: 2027-01-15
    for ms in range(base, base + 1000):
        # The latest instant of that millisecond.
        monkeypatch.setattr(time, "time_ns", lambda ms=ms: ms * 1_000_000 + 999_999)
        stamp = now()
        assert stamp.microsecond == ms % 1000 * 1000 and int(stamp.timestamp()) == ms // 1000
