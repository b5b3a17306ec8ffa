"""The HAProxy and nginx configurations the deployment guide (docs/deployment.md) shows
are the ones the multi-host tests run, so the guide stays true."""

from __future__ import annotations

import re

from tests.hosts import nginx
from tests.hosts.haproxy import CONFIG
from tests.hosts.test_tls import TLS_CONFIG
from tests.support import ROOT


def _deployment() -> str:
    return (ROOT / "docs" / "deployment.md").read_text()


def test_the_readme_shows_the_configuration_the_tests_run() -> None:
    blocks = re.findall(r"```haproxy\n(.*?)```", _deployment(), flags=re.S)
    assert blocks == [CONFIG.read_text(), TLS_CONFIG.read_text()]


def test_the_readme_shows_the_nginx_configuration_the_tests_run() -> None:
    blocks = re.findall(r"```nginx\n(.*?)```", _deployment(), flags=re.S)
    assert blocks == [nginx.CONFIG.read_text()]
