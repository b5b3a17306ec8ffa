"""Process tuning the server's figures depend on, applied by the app's lifespan, so that
`python -m server serve`, `uvicorn server.app:app` and any process manager get it alike.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Full collections over a server's long-lived objects took 160-770 ms in the benchmarks
# and made the fan-out latency tail; far rarer ones cost little (requests free almost
# everything by reference counting; what the collector finds is rare cycles).
_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def collector_tuned() -> Iterator[None]:
    """Rarer collections while the app runs; the interpreter's own settings after."""
    previous = gc.get_threshold()
    gc.set_threshold(*_THRESHOLDS)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*previous)


def freeze_startup_objects() -> None:
    """Everything alive once the app has started (modules, app, pools) lives for good:
    keep it out of every future collection. Garbage is collected first, so none of it
    is frozen with them (an app started and stopped many times in one process, as in
    tests, then leaks nothing)."""
    gc.collect()
    gc.freeze()
