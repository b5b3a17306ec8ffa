"""`/docs` and `/redoc` render in a real browser with every off-box request blocked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route, expect

from tests.support import ServerProcess, running


@pytest.fixture(scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> AsyncIterator[ServerProcess]:
    db = tmp_path_factory.mktemp("docs") / "tasksync.db"
    async with running(ServerProcess({"DATABASE_URL": f"sqlite:///{db}"}, artifacts_dir, "docs")) as (
        process,
    ):
        yield process


@pytest.mark.parametrize(("path", "marker"), [("/docs", "/api/tasks/{task_id}"), ("/redoc", "Delete a task")])
async def test_docs_render_with_the_network_cut_off(
    browser: Browser, server: ServerProcess, path: str, marker: str
) -> None:
    context = await browser.new_context()
    off_box: list[str] = []

    async def only_this_server(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            off_box.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_this_server)
    page = await context.new_page()
    try:
        await page.goto(server.url + path)
        await expect(page.get_by_text(marker.replace("`", ""), exact=False).first).to_be_visible(
            timeout=15_000
        )
        await expect(page.get_by_text("Tasksync API").first).to_be_visible()
    finally:
        await context.close()
    # ReDoc's footer logo is the one remote URL the bundle carries (CSP blocks it first).
    assert [url for url in off_box if "cdn.redoc.ly" not in url] == []
