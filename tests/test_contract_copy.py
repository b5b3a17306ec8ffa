"""The contract a user reads (`docs/protocol.md`) is the one the product is built to:
the shared `PROTOCOL.md` beside the repository, word for word."""

from __future__ import annotations

from pathlib import Path

from tests.support import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
COPY = ROOT / "docs" / "protocol.md"
SHARED = ROOT.parent / "shared" / "PROTOCOL.md"


def test_docs_carry_the_contract_as_it_is() -> None:
    if not SHARED.exists():
        skip_or_fail(f"no shared contract at {SHARED} to compare docs/protocol.md with")
    assert COPY.read_text(encoding="utf-8") == SHARED.read_text(encoding="utf-8"), (
        "docs/protocol.md differs from ../shared/PROTOCOL.md: copy the contract over"
    )
