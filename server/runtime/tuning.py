"""Process tuning the server's figures depend on, applied by the app's lifespan, so that
`python -m server serve`, `uvicorn server.app:app` and any process manager get it alike.
"""

from __future__ import annotations

import ctypes
import gc
import os
import platform
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


# glibc's `mallopt(3)` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# Buffers up to this size come from the heap, not from a mapping of their own: a list or
# changes page (about `MAX_PAGE_BYTES`, 1 MiB) and a request body (`MAX_BODY_BYTES`) fit.
_MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024
# Free memory at the heap's top is given back to the system only above this much.
_TRIM_THRESHOLD_BYTES = 16 * 1024 * 1024


def allocator_tuned() -> bool:
    """Keep glibc's allocator from handing large buffers back to the system after each
    use (True if it applied). By default a buffer of a large page comes from a fresh
    mapping or a heap top that is trimmed again soon after, so each page's buffers were
    faulted in and zeroed anew: a 1-MiB list page cost the server 4.9 ms of CPU, about
    3 ms with these settings (docs/limits.md). The cost is at most `_TRIM_THRESHOLD_BYTES` of
    free memory kept. An operator's own `MALLOC_*_` environment settings are left to
    rule; other C libraries are left alone."""
    if platform.libc_ver()[0] != "glibc" or any(name.startswith("MALLOC_") for name in os.environ):
        return False
    mallopt = ctypes.CDLL(None).mallopt  # the C library's documented interface
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mapped = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    return bool(mapped and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))
