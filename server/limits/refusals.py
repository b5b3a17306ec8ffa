"""Refused credentials are answered late, like refused budgets.

A client stuck retrying with an expired or forged token is answered at once otherwise,
and on a handful of keep-alive connections it can make the process spend most of a
core on refusals. Each refusal (a `401`, a socket's `4401`) is held for a delay before
it is answered, which cuts such a loop to one attempt per delay per connection, at the
cost of a sleeping coroutine. The refusals held at once are bounded per client network
(`client_network`): past the bound a refusal is answered at once and closes its
connection, so opening connections gets a flood no further and holds no more memory.

Every hold, these and the rate limits' refusals, lasts a random time between the delay
and half as long again (`held_for`). A fixed delay keeps a flood's connections in step:
refused together, each is answered at the same moment, retries at once and is refused
together again, so once a delay every process takes the whole wave's work in one go
(accepts, handshakes, token checks), and the other users' requests that meet it wait
behind it. Spread, the same refusals arrive one by one; no connection is ever answered
before the delay, so the bound on a retry loop holds as it did.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

# A hold lasts the delay times a factor drawn from [1, _SPREAD].
_SPREAD = 1.5


def held_for(delay_seconds: float) -> float:
    """How long one refusal is held: at least `delay_seconds`, at most half as long again."""
    return delay_seconds * random.uniform(1.0, _SPREAD)


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
            await asyncio.sleep(held_for(self._delay))
        finally:
            self._held[network] -= 1
            if self._held[network] <= 0:
                del self._held[network]
        return True
