"""The HAProxy configuration the README's Deployment section shows is the one the
multi-host tests run, so the guide stays true."""

from __future__ import annotations

import re

from tests.hosts.haproxy import CONFIG
from tests.support import ROOT


def test_the_readme_shows_the_configuration_the_tests_run() -> None:
    readme = (ROOT / "README.md").read_text()
    deployment = readme.split("\n## Deployment\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```haproxy\n(.*?)```", deployment, flags=re.S)
    assert blocks == [CONFIG.read_text()]
