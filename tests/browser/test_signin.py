"""How the demo gets its token, in a real browser: a development sign-in, a pasted token,
or a provider function from the host page whose short-lived tokens are renewed on the
open socket. A token never appears in a URL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import Browsing, Tab
from tests.support import ServerProcess, User, mint, running

SHORT_TOKEN_SECONDS = 3


@pytest.fixture(scope="module")
async def dev_server(
    tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> AsyncIterator[ServerProcess]:
    """A server in development mode (no secret configured), on SQLite."""
    folder = tmp_path_factory.mktemp("devmode")
    server = ServerProcess(
        {
            "TASKSYNC_ENV": "development",
            "BETTER_AUTH_SECRET": "",
            "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/tasksync.db",
            "DEV_SECRET_FILE": str(folder / "dev-secret"),
        },
        artifacts_dir,
        "devmode",
    )
    # No CORS_ORIGINS: the demo is same-origin, exactly as under `make run`.
    async with running(server):
        yield server


def no_token_in_urls(tab: Tab, token: str) -> None:
    assert token not in tab.page.url
    assert tab.sockets and all(token not in ws.url for ws in tab.sockets)


async def test_development_mode_signs_in_with_a_development_token(
    browsing: Browsing, dev_server: ServerProcess
) -> None:
    tab = await browsing.tab(await browsing.device(), dev_server, live=False)
    page = tab.page
    await expect(page.locator("#signin")).to_be_visible()
    name = f"dev-{uuid.uuid4().hex[:8]}"
    await page.fill("#dev-user", name)
    await page.click("#dev-signin button")
    await tab.until_live()
    await expect(page.locator("#who")).to_have_text(f"Signed in as {name}")

    await page.fill("#new-title", "Try the demo")
    await page.click("#add button")
    await tab.expect_titles(["Try the demo"])

    await page.reload()  # the user name is remembered; a fresh token is minted
    await tab.until_live()
    await tab.expect_titles(["Try the demo"])

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#workspace")).to_be_hidden()


async def test_outside_development_mode_the_page_takes_a_pasted_token(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    async with httpx.AsyncClient(base_url=servers[0].url, headers=user.headers) as api:
        await api.post("/api/tasks", json={"title": "Made elsewhere"})
    tab = await browsing.tab(await browsing.device(), servers[0], live=False)
    page = tab.page
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#dev-signin")).to_be_hidden()

    await page.fill("#token-input", "not a token")
    await page.click("#token-signin button")
    await expect(page.locator("#signin .notice.error")).to_contain_text("does not look like a JWT")

    await page.fill("#token-input", user.token)
    await page.click("#token-signin button")
    await tab.until_live()
    await tab.expect_titles(["Made elsewhere"])
    await page.reload()  # kept for this tab
    await tab.until_live()
    await tab.expect_titles(["Made elsewhere"])
    no_token_in_urls(tab, user.token)


async def test_a_host_page_token_provider_renews_the_token_on_the_open_socket(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    minted: list[str] = []
    renewed = asyncio.Event()

    def mint_short_token() -> str:
        minted.append(mint(user.id, ttl=SHORT_TOKEN_SECONDS))
        if len(minted) > 3:
            renewed.set()
        return minted[-1]

    device = await browsing.device()
    await device.expose_function("mintShortToken", mint_short_token)
    await device.add_init_script("window.tasksyncToken = () => window.mintShortToken();")
    tab = await browsing.tab(device, servers[0])

    # Three renewals, each due a quarter of a lifetime before expiry, take the socket
    # past the first token's `exp`, when the server would otherwise close it (4401).
    await asyncio.wait_for(renewed.wait(), timeout=10 * SHORT_TOKEN_SECONDS)
    assert await tab.is_live()
    assert len(tab.sockets) == 1 and not tab.sockets[0].is_closed()
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
        await api.post("/api/tasks", json={"title": "Still live"})
    await tab.expect_titles(["Still live"])
    no_token_in_urls(tab, minted[0])
