"""The merge soak (soak.py) at the suite's size: three devices of one user — two
browsers and one Python client — editing a few shared tasks at random for a fixed seed,
with cuts. No edit may be lost without being reported, no conflict may be reported
that no other device caused, and every device must end up showing what the server has.

The long run, and the same workload through the broken client of broken.py, is
`python -m bench.merge_soak` (bench/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.conformance.soak import Soak, Workload, fleet
from tests.support import ServerProcess, User

# Short enough to add well under a minute to the suite, long enough for a few cuts and
# conflicts. The seed stays fixed: a failure names it, and the run can be repeated.
WORKLOAD = Workload(ops=40, seed=20261201)


@pytest.mark.timeout(240)
async def test_merge_soak(
    browser: Browser, server: ServerProcess, user: User, tmp_path: Path, artifacts_dir: Path
) -> None:
    drivers = fleet(browser, user.token, tmp_path, artifacts_dir / "screenshots")
    result = await Soak.of(drivers, server, user, WORKLOAD).soak()
    audit = result.audit
    summary = f"seed {WORKLOAD.seed}: {audit} {result.counts}"
    assert audit.edits_made > 0 and result.counts.cuts > 0, summary
    assert audit.lost == [], summary
    assert audit.false_conflicts == [], summary
    assert audit.differences == [], summary
    assert audit.devices_equal == audit.devices == 3, summary
