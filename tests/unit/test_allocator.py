"""The allocator tuning: a large buffer used again and again (a list page's, a request
body's) keeps its memory, instead of having its pages faulted in and zeroed anew each
time — most of what a 1-MiB page cost the server beyond moving its bytes."""

from __future__ import annotations

import subprocess
import sys

# Fresh interpreters: the allocator's thresholds are per process, and glibc's own move
# after the first large buffer is freed.
_FAULTS = """
import resource, sys
from server.runtime.tuning import allocator_tuned
if sys.argv[1] == "tuned":
    assert allocator_tuned()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for n in range(50):
    # What a page holds at once: the rows read, the body written, a copy on the way out.
    rows, body, piece = (b"x" * (1024 * 1024 + n) for _ in range(3))
    del rows, body, piece
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
"""


def _page_faults(mode: str) -> int:
    # No environment: an operator's MALLOC_* settings would turn the tuning off.
    done = subprocess.run(
        [sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True, env={}
    )
    return int(done.stdout)


def test_a_page_sized_buffer_is_faulted_in_once_not_per_use() -> None:
    tuned, untuned = _page_faults("tuned"), _page_faults("untuned")
    one_page = 3 * 1024 * 1024 // 4096
    assert tuned < 2 * one_page < 10 * one_page < untuned, (tuned, untuned)
