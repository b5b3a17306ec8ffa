"""The documentation site (mkdocs.yml over docs/) builds with `mkdocs build --strict`:
a broken link or anchor, a page missing from the nav, or any other MkDocs warning fails
it. Links from docs/ to files beside the code reach those files in the site."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

MKDOCS = Path(sys.executable).parent / "mkdocs"


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    # NO_MKDOCS_2_WARNING: Material prints a notice about its own end of life on every
    # build; it is about the theme, not these pages, and would bury the real warnings.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _warnings(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if "WARNING" in line]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    result = _build(ROOT / "mkdocs.yml", site)
    assert not _warnings(result), "\n".join(_warnings(result))
    assert result.returncode == 0, result.stderr
    return site


def test_the_site_builds_strictly_with_every_page(site: Path) -> None:
    for page in (ROOT / "docs").glob("*.md"):
        name = "" if page.stem == "index" else f"{page.stem}/"
        assert (site / name / "index.html").is_file(), page.name


def test_links_out_of_docs_reach_the_repository_files(site: Path) -> None:
    # docs/offline-and-merging.md links to ../clients/js/README.md#offline-…: in the
    # site the link goes to that README's page, and the heading is there.
    page = (site / "offline-and-merging" / "index.html").read_text()
    href = re.search(r'href="(\.\./repository/clients/js/)#(offline-[^"]+)"', page)
    assert href is not None
    target = (site / "offline-and-merging" / href.group(1) / "index.html").resolve()
    assert f'id="{href.group(2)}"' in target.read_text()


def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path) -> None:
    """The same configuration (without its nav) over one page with broken links: the
    hook that brings repository files in must not make a missing one pass."""
    config = re.sub(r"^nav:.*", "", (ROOT / "mkdocs.yml").read_text(), flags=re.S | re.M)
    (tmp_path / "mkdocs.yml").write_text(config)
    shutil.copytree(ROOT / "docs" / "hooks", tmp_path / "docs" / "hooks")
    (tmp_path / "README.md").write_text("# Readme\n\n## Two commands\n")
    (tmp_path / "docs" / "index.md").write_text(
        "# Home\n\n[fine](../README.md#two-commands) [no file](../nowhere.md)"
        " [no heading](../README.md#three-commands)\n"
    )
    result = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    warnings = "\n".join(_warnings(result))
    assert "nowhere.md" in warnings
    assert "three-commands" in warnings
    assert "two-commands" not in warnings
