"""The bound on sockets opening at once, and the spread of the waits it names."""

from __future__ import annotations

from server.limits.openings import MAX_SPREAD_SECONDS, Openings


def test_the_bound_lets_in_up_to_cap_and_a_place_given_back_is_taken_again() -> None:
    openings = Openings(cap=2)
    assert openings.try_enter() and openings.try_enter()
    assert not openings.try_enter()
    openings.leave()
    assert openings.try_enter()
    openings.enter()  # a socket already open that resumes its opening: counted anyway
    assert openings.count == 3 and not openings.try_enter()


def test_the_wait_spreads_wider_the_more_are_refused_in_one_second() -> None:
    openings = Openings(cap=10)
    first = [openings.retry_after() for _ in range(10)]
    assert set(first) == {1}  # the first cap's worth come back in a second
    storm = [openings.retry_after() for _ in range(5_000)]
    assert max(storm) == MAX_SPREAD_SECONDS and min(storm) == 1
    # Spread, not bunched: no second of the span gets much more than its share.
    late = storm[-1_000:]
    busiest = max(late.count(second) for second in set(late))
    assert busiest < 3 * len(late) / MAX_SPREAD_SECONDS
