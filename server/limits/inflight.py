"""A few requests of one user in flight at once in this process, fewer of them at work.

One user's whole budget arriving at once over many connections would otherwise run
all at once on this process's one event loop and its pooled database connections, and
every other user's request would queue behind that burst. So each user has two bounds
here, and past them its requests wait their turn holding nothing but their own
connection — that user's burst is spread over time instead of over everyone:

* **at work** (`MAX_REQUESTS_AT_WORK_PER_USER`, 1): from authentication until the
  response starts — the rate-limit check, the handler, its database statements — except
  while the request waits for its body to arrive (a phone uploading slowly holds up
  none of its user's other requests). The event loop then runs one of a user's requests
  at a time in this process, between other users' steps.
  A large response (over `PACED_FROM_BYTES`) keeps the place a little longer after it
  starts: its size ÷ `MAX_RESPONSE_BYTES_PER_SECOND_PER_USER`. The bytes of a user's
  answers are what its work costs — the database building them, this process joining
  them — and a burst of large pages built back to back takes every core for that
  moment; paced, the user's pages follow one another at a steady rate instead.
* **in flight** (`MAX_REQUESTS_IN_FLIGHT_PER_USER`): from authentication until the
  response is sent. A response its client does not read keeps this place (and its
  body's memory) until the send timeout: one user's unread responses are bounded too,
  without holding up the same user's other requests.

Streams (sockets, SSE, parked long-polls) hold a place at work only while they open
(authentication and the catch-up), and none while they wait for events; a message a
socket sends holds one while it is handled, so a user's many sockets sending at once
take one turn between other users' steps, not one each.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

# Where `authenticate` leaves a request's `Place` in the ASGI scope's state.
IN_FLIGHT_STATE = "in_flight_place"
# Responses up to this size give their place at work back as they start: a list of a
# few hundred ordinary tasks is never held up.
PACED_FROM_BYTES = 64 * 1024


def done_working(state: MutableMapping[str, Any], size: int = 0, bytes_per_second: float = 0.0) -> None:
    """The request's response of `size` bytes has started: give back its place at work,
    if it holds one — for a large response, `size / bytes_per_second` later."""
    place = state.get(IN_FLIGHT_STATE)
    if place is None:
        return
    if size > PACED_FROM_BYTES and bytes_per_second > 0:
        place.stop_working_after(size / bytes_per_second)
    else:
        place.stop_working()


def give_back(state: MutableMapping[str, Any]) -> None:
    """Give back every place a request's state holds: once its response is sent (the
    edge layer), or earlier, before a long-poll parks or a refusal is held back."""
    place = state.pop(IN_FLIGHT_STATE, None)
    if place is not None:
        place.leave()


class _Gate:
    __slots__ = ("at_work", "holders", "in_flight")

    def __init__(self, in_flight: int, at_work: int) -> None:
        self.in_flight = asyncio.Semaphore(in_flight)
        self.at_work = asyncio.Semaphore(at_work)
        self.holders = 0  # requests holding or waiting for a place


class Place:
    """One request's places; each is given back once, whichever call comes first."""

    __slots__ = ("_gate", "_in_flight", "_owner", "_user_id", "_working")

    def __init__(self, owner: InFlight, user_id: str, gate: _Gate, in_flight: bool) -> None:
        self._owner, self._user_id, self._gate = owner, user_id, gate
        self._in_flight, self._working = in_flight, True

    def stop_working(self) -> None:
        """Give back the place at work: the response has started, or the request only
        waits for its client (its body still arriving; `resume_work` when it is in)."""
        if self._working:
            self._working = False
            self._gate.at_work.release()
            self._done_if_stream()

    def stop_working_after(self, seconds: float) -> None:
        """Give back the place at work `seconds` from now, whatever the request does
        meanwhile (its response may well be sent and done by then)."""
        if not self._working:
            return
        self._working = False
        gate, owner, user_id = self._gate, self._owner, self._user_id
        gate.holders += 1  # the held place keeps the user's gate, and so its count

        def give_back_later() -> None:
            gate.at_work.release()
            owner.forget_if_idle(user_id, gate)

        asyncio.get_running_loop().call_later(seconds, give_back_later)
        self._done_if_stream()

    def _done_if_stream(self) -> None:
        # A stream's place is at work only: once that is given up (or held by the pace
        # alone), the stream holds nothing of its user's.
        if not self._in_flight:
            self._owner.forget_if_idle(self._user_id, self._gate)

    async def resume_work(self) -> None:
        """Back to work: wait for a place at work again (at once when one is free)."""
        if not self._working and self._in_flight:
            await self._gate.at_work.acquire()
            self._working = True

    def leave(self) -> None:
        self.stop_working()
        if self._in_flight:
            self._in_flight = False
            self._gate.in_flight.release()
            self._owner.forget_if_idle(self._user_id, self._gate)


# Gates of users gone idle, kept for the next user that comes: most requests find their
# user idle, and a gate is two semaphores to build.
_SPARE_GATES = 256


class InFlight:
    def __init__(self, cap: int, at_work: int) -> None:
        self._cap, self._at_work = cap, min(at_work, cap)
        self._gates: dict[str, _Gate] = {}
        self._spare: list[_Gate] = []

    async def enter(self, user_id: str, *, request: bool = True) -> Place:
        """Wait for the user's places: in flight and at work for a `request`, at work
        only for a stream that opens. Give them back through the `Place`."""
        gate = self._gates.get(user_id)
        if gate is None:
            spare = self._spare
            gate = self._gates[user_id] = spare.pop() if spare else _Gate(self._cap, self._at_work)
        gate.holders += 1
        held_in_flight = False
        try:
            if request:
                await gate.in_flight.acquire()
                held_in_flight = True
            await gate.at_work.acquire()
        except BaseException:
            if held_in_flight:
                gate.in_flight.release()
            self.forget_if_idle(user_id, gate)
            raise
        return Place(self, user_id, gate, request)

    def users(self) -> int:
        """Users holding or waiting for a place (an idle user is not kept)."""
        return len(self._gates)

    def forget_if_idle(self, user_id: str, gate: _Gate) -> None:
        gate.holders -= 1
        if gate.holders == 0:  # nobody holds or waits: an idle user costs nothing
            del self._gates[user_id]
            # Every place of it is back (nobody holds or waits): as good as new.
            if len(self._spare) < _SPARE_GATES:
                self._spare.append(gate)
