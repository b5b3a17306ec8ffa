"""One user's places per process: in flight until sent, at work until the response
starts. Past either bound that user's requests wait; other users never do."""

from __future__ import annotations

import asyncio

from server.limits.inflight import IN_FLIGHT_STATE, PACED_FROM_BYTES, InFlight, done_working, give_back


async def _waiting(entering: asyncio.Task[object]) -> bool:
    await asyncio.sleep(0.01)
    return not entering.done()


async def test_past_the_bound_at_work_a_users_request_waits_and_others_do_not() -> None:
    gate = InFlight(cap=8, at_work=2)
    first, second = await gate.enter("busy"), await gate.enter("busy")
    third = asyncio.create_task(gate.enter("busy"))
    assert await _waiting(third)
    other = await asyncio.wait_for(gate.enter("other"), 1)  # another user: at once
    # A response that has started (only sending left) lets the next one work.
    first.stop_working()
    place = await asyncio.wait_for(third, 1)
    for p in (place, second, first, other):
        p.leave()


async def test_responses_being_sent_hold_only_places_in_flight() -> None:
    gate = InFlight(cap=3, at_work=1)
    sending = []
    for _ in range(3):  # three responses nobody reads: each done working, still in flight
        p = await asyncio.wait_for(gate.enter("hoarder"), 1)
        p.stop_working()
        sending.append(p)
    fourth = asyncio.create_task(gate.enter("hoarder"))
    assert await _waiting(fourth)  # the in-flight bound: unread responses are bounded
    sending[0].leave()
    (await asyncio.wait_for(fourth, 1)).leave()
    for p in sending:
        p.leave()  # a second leave is a no-op
    assert gate.users() == 0  # nobody holds or waits: nothing is kept per user


async def test_a_stream_opening_holds_a_place_at_work_only() -> None:
    gate = InFlight(cap=1, at_work=1)
    request = await gate.enter("u")
    request.stop_working()  # sending: its one place in flight is still held
    stream = await asyncio.wait_for(gate.enter("u", request=False), 1)
    waiting = asyncio.create_task(gate.enter("u", request=False))
    assert await _waiting(waiting)  # the stream's place at work is taken
    stream.leave()
    (await asyncio.wait_for(waiting, 1)).leave()
    request.leave()
    assert gate.users() == 0


async def test_a_request_cancelled_while_it_waits_gives_back_what_it_took() -> None:
    gate = InFlight(cap=2, at_work=1)
    working = await gate.enter("u")
    waiting = asyncio.create_task(gate.enter("u"))  # holds a place in flight, waits to work
    assert await _waiting(waiting)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    working.stop_working()
    working.leave()
    assert gate.users() == 0
    # Both places are free again: two more requests get in flight.
    a = await gate.enter("u")
    a.stop_working()
    b = await asyncio.wait_for(gate.enter("u"), 1)
    a.leave()
    b.leave()


async def test_a_request_waiting_for_its_body_lets_the_users_next_request_work() -> None:
    gate = InFlight(cap=8, at_work=1)
    uploading = await gate.enter("u")
    uploading.stop_working()  # its body is still on its way
    reading = await asyncio.wait_for(gate.enter("u"), 1)  # works meanwhile
    resuming = asyncio.create_task(uploading.resume_work())
    assert await _waiting(resuming)  # the body is in: it waits for the place at work
    reading.leave()
    await asyncio.wait_for(resuming, 1)
    uploading.leave()
    assert gate.users() == 0


async def test_a_large_response_keeps_the_place_at_work_for_its_size_at_the_pace() -> None:
    gate = InFlight(cap=8, at_work=1)
    state = {IN_FLIGHT_STATE: await gate.enter("u")}
    # 1 MiB at 4 MiB/s: the user's next request works a quarter of a second later.
    done_working(state, 1024 * 1024, 4 * 1024 * 1024)
    next_one = asyncio.create_task(gate.enter("u"))
    other = await asyncio.wait_for(gate.enter("other"), 1)  # another user: at once
    give_back(state)  # sent and done before its pace allows: the place stays held
    assert await _waiting(next_one)
    assert gate.users() == 2  # the held place keeps the user's count
    (await asyncio.wait_for(next_one, 1)).leave()
    other.leave()
    assert gate.users() == 0


async def test_a_small_response_gives_the_place_at_work_back_as_it_starts() -> None:
    gate = InFlight(cap=8, at_work=1)
    state = {IN_FLIGHT_STATE: await gate.enter("u")}
    done_working(state, PACED_FROM_BYTES, 1)  # at the bound: not paced, however slow the pace
    (await asyncio.wait_for(gate.enter("u"), 0.05)).leave()
    give_back(state)
    assert gate.users() == 0


async def test_a_paced_stream_place_is_forgotten_once_its_pace_allows() -> None:
    gate = InFlight(cap=8, at_work=1)
    stream = await gate.enter("u", request=False)  # a stream opening: at work only
    stream.stop_working_after(0.05)
    assert gate.users() == 1  # held by the pace
    await asyncio.sleep(0.1)
    assert gate.users() == 0  # and nothing left of the user once it has passed
