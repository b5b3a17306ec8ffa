"""A bound on the sockets a process opens at once, and a spread for those it turns away.

A socket costs most while it opens: the upgrade, the token, the catch-up read from
`since`, the hello. When a host dies, every socket it held comes back on the others at
once; a process that takes them all at once answers none of them in time (the clients
time out and try again, its health checks time out, its listener's pings time out, and
the storm grows). Past the bound, a handshake is refused before any of that work with a
`429` and a `Retry-After` spread over more seconds the more are being refused, so the
fleet comes back at the rate the process can take while its open sockets, its health
checks and its listener stay served.

`429`, not `503`: a host refusing for a moment is healthy, and the documented HAProxy
configuration takes a host out on its first `5xx` (`observe layer7`), which would move
the storm to the next host.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

# The longest wait a refusal names, in seconds: the Retry-After of a whole host's worth
# of sockets refused in the same second.
MAX_SPREAD_SECONDS = 30


@dataclass
class Openings:
    """Sockets being opened in this process (from the handshake to the hello)."""

    cap: int
    count: int = 0
    _second: int = field(default=0, repr=False)
    _refused_this_second: int = field(default=0, repr=False)

    def try_enter(self) -> bool:
        if self.count >= self.cap:
            return False
        self.count += 1
        return True

    def enter(self) -> None:
        """Counted whatever the bound (a socket already open that resumes its opening)."""
        self.count += 1

    def leave(self) -> None:
        self.count -= 1

    def retry_after(self) -> int:
        """Seconds the refused client should wait: random over a span that grows with the
        refusals of the current second, so that at most about `cap` of them come back in
        each second of it."""
        second = int(time.monotonic())
        if second != self._second:
            self._second, self._refused_this_second = second, 0
        self._refused_this_second += 1
        spread = min(MAX_SPREAD_SECONDS, max(1, math.ceil(self._refused_this_second / self.cap)))
        return random.randint(1, spread)
