"""Delays between attempts: exponential, capped, and jittered.

Jitter matters after a server restart: every client of that server is closed with 1012
at the same instant, and without it they would all come back at the same instant too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect (and retry) delays.

    Attempt `n` (from 0) waits a random time between half and all of
    `min(maximum, initial * factor ** n)` seconds.

    >>> Backoff(initial=0.1, maximum=5.0).delay(0) <= 0.1
    True
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum) or self.factor < 1:
            raise ValueError("need 0 < initial <= maximum and factor >= 1")

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return random.uniform(ceiling / 2, ceiling)
