"""At most a few requests of one user at work at once in this process.

One user's whole write budget arriving at once over many connections would otherwise
take every pooled database connection, and every other user would queue behind it.
Past `cap`, a user's requests wait their turn here, holding nothing but their own
connection, so that user's burst is spread over time instead of over everyone. A
request holds its place from authentication until its response is sent (a response
its client does not read keeps it: one user's unread responses are bounded too).
Streams (sockets, SSE, parked long-polls) hold none while they wait for events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, MutableMapping
from typing import Any

Release = Callable[[], None]

# Where `authenticate` leaves a request's `Release` in the ASGI scope's state.
IN_FLIGHT_STATE = "in_flight_release"


def give_back(state: MutableMapping[str, Any]) -> None:
    """Give back the place a request's state holds, if it still holds one: once its
    response is sent (the edge layer), or earlier, before a long-poll parks."""
    release = state.pop(IN_FLIGHT_STATE, None)
    if release is not None:
        release()


class _Gate:
    __slots__ = ("holders", "semaphore")

    def __init__(self, cap: int) -> None:
        self.semaphore = asyncio.Semaphore(cap)
        self.holders = 0  # requests holding or waiting for a place


class InFlight:
    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._gates: dict[str, _Gate] = {}

    async def enter(self, user_id: str) -> Release:
        """Wait for one of the user's places; returns what gives it back (call once)."""
        gate = self._gates.get(user_id)
        if gate is None:
            gate = self._gates[user_id] = _Gate(self._cap)
        gate.holders += 1
        try:
            await gate.semaphore.acquire()
        except BaseException:
            self._leave(user_id, gate)
            raise
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                gate.semaphore.release()
                self._leave(user_id, gate)

        return release

    def _leave(self, user_id: str, gate: _Gate) -> None:
        gate.holders -= 1
        if gate.holders == 0:  # nobody holds or waits: an idle user costs nothing
            del self._gates[user_id]
