"""HAProxy terminating TLS in front of the hosts (tests/hosts/haproxy-tls.cfg, with a
certificate the test makes): the demo page served over https opens its socket with
`Origin: https://<load balancer>`; the hosts see plain ws:// from HAProxy and accept that
origin only when they trust HAProxy's X-Forwarded-Proto (its address in their
FORWARDED_ALLOW_IPS). REST works over TLS too."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.hosts.conftest import Topology
from tests.hosts.haproxy import HAProxy
from tests.hosts.tls import make_certificates
from tests.hosts.topology import BRIDGE_ADDRESS, HOST_PORT, Host
from tests.support import User, free_port

TLS_CONFIG = Path(__file__).with_name("haproxy-tls.cfg")


class TlsFront:
    def __init__(self, lb: HAProxy, port: int, context: ssl.SSLContext) -> None:
        self.lb, self.port, self.context = lb, port, context

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/api/ws"


@pytest.fixture(scope="module")
async def tls(built: Topology) -> AsyncIterator[TlsFront]:
    run_dir = built.lb.run_dir / "tls"
    certificates = make_certificates(run_dir)
    port = free_port()
    lb = HAProxy(
        {host.name: f"{host.address}:{HOST_PORT}" for host in built.hosts},
        run_dir,
        extra_configs=(TLS_CONFIG,),
        env={"TASKSYNC_LB_TLS_BIND": f"127.0.0.1:{port}", "TASKSYNC_LB_CERT": str(certificates.server_pem)},
    )
    await lb.start()
    try:
        yield TlsFront(lb, port, certificates.client_context())
    finally:
        lb.kill()


async def trust(topology: Topology, front: TlsFront, allowed: str | None) -> None:
    """Every host running with FORWARDED_ALLOW_IPS=`allowed` (None: the default), up in
    the TLS load balancer."""

    async def restart(host: Host) -> None:
        await host.process.stop()
        await host.process.start()

    stale = []
    for host in topology.hosts:
        env = host.process.env
        if env.get("FORWARDED_ALLOW_IPS") != allowed:
            env.pop("FORWARDED_ALLOW_IPS", None)
            if allowed is not None:
                env["FORWARDED_ALLOW_IPS"] = allowed
            stale.append(restart(host))
    await asyncio.gather(*stale)
    for host in topology.hosts:
        await front.lb.wait_status(host.name, "UP")


async def open_socket(front: TlsFront, user: User, origin: str) -> dict[str, object]:
    async with websockets.connect(
        front.ws_url, ssl=front.context, origin=origin, additional_headers=user.headers, open_timeout=5
    ) as ws:  # type: ignore[arg-type]
        hello: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 5))
        return hello


async def test_the_page_s_own_socket_is_refused_when_the_hosts_do_not_trust_it(
    topology: Topology, tls: TlsFront
) -> None:
    # The default (loopback only): HAProxy on the bridge is not believed, so the hosts
    # see ws:// and the https origin looks like another site's. (First: the hosts start
    # with the default, so only the next test restarts them.)
    await trust(topology, tls, None)
    user = User()
    for _ in range(len(topology.hosts)):
        with pytest.raises(InvalidStatus) as refused:
            await open_socket(tls, user, tls.origin)
        assert refused.value.response.status_code == 403
    # A page served over plain http through the same hosts still gets its socket.
    async with websockets.connect(
        tls.lb.ws_url, origin=tls.lb.url, additional_headers=user.headers, open_timeout=5
    ) as ws:  # type: ignore[arg-type]
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "hello"


async def test_the_page_s_own_socket_is_accepted_when_the_hosts_trust_the_load_balancer(
    topology: Topology, tls: TlsFront
) -> None:
    await trust(topology, tls, BRIDGE_ADDRESS)
    user = User()
    # One socket per host at least (leastconn spreads them): every host honours it.
    for _ in range(len(topology.hosts)):
        hello = await open_socket(tls, user, tls.origin)
        assert hello["type"] == "hello", hello
    # Trusting the proxy's scheme does not open the door to other sites.
    with pytest.raises(InvalidStatus) as refused:
        await open_socket(tls, user, "https://elsewhere.example")
    assert refused.value.response.status_code == 403

    async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{tls.port}", verify=tls.context) as http:
        created = await http.post(
            "/api/tasks", json={"title": "over TLS"}, headers={**user.headers, "Idempotency-Key": "tls-1"}
        )
        assert created.status_code == 201, created.text
        listed = await http.get("/api/tasks", headers=user.headers)
        assert listed.status_code == 200
        assert [task["title"] for task in listed.json()["items"]] == ["over TLS"]
