"""Refused credentials are answered late, like refused budgets.

A client stuck retrying with an expired or forged token is answered at once otherwise,
and on a handful of keep-alive connections it can make the process spend most of a
core on refusals. Each refusal (a `401`, a socket's `4401`) is held for a delay before
it is answered, which cuts such a loop to one attempt per delay per connection, at the
cost of a sleeping coroutine. The refusals held at once are bounded per client network
(`client_network`): past the bound a refusal is answered at once and closes its
connection, so opening connections gets a flood no further and holds no more memory.
"""

from __future__ import annotations

import asyncio
from collections import Counter


class RefusalHold:
    def __init__(self, delay_seconds: float, held_per_network: int) -> None:
        self._delay = delay_seconds
        self._cap = held_per_network
        self._held: Counter[str] = Counter()

    async def hold(self, network: str) -> bool:
        """Wait out the delay before a refusal is answered; False (at once) when the
        network already has its bound of refusals waiting: close the connection then."""
        if self._delay <= 0:
            return True
        if self._held[network] >= self._cap:
            return False
        self._held[network] += 1
        try:
            await asyncio.sleep(self._delay)
        finally:
            self._held[network] -= 1
            if self._held[network] <= 0:
                del self._held[network]
        return True
