"""A `LiveStore`'s life in a page: `idle` before `start()`, started, closed and started
again (what React's StrictMode does to an effect that starts a store and a cleanup that
closes it), and a start that cannot reach the API, which rejects within `startTimeout`
and says why instead of leaving the page waiting in silence.

Each store is made by the test in a page of the server (its sign-in form: no store of
its own), from the module the server serves at `/client/`.
"""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page

from tests.browser.conftest import Browsing
from tests.support import ServerProcess, User

# A store with a record of what `onState` and `onError` were told, as `window.life`.
MAKE_STORE = """async ({ token, api, startTimeout }) => {
  const module = await import("/client/tasksync.js");
  const life = { states: [], errors: [], result: null };
  const client = new module.TasksyncClient({ token, baseUrl: api });
  life.store = new module.LiveStore(client, {
    startTimeout,
    onState: (state, { role }) => life.states.push([state, role]),
    onError: (error) => life.errors.push(String(error)),
  });
  window.life = life;
  return { state: life.store.state, role: life.store.role };
}"""


async def make_store(page: Page, url: str, token: str, api: str, start_timeout: int | None = None) -> Any:
    await page.goto(url + "/")
    return await page.evaluate(MAKE_STORE, {"token": token, "api": api, "startTimeout": start_timeout})


async def test_a_closed_store_starts_again_goes_live_and_takes_writes(
    browsing: Browsing, servers: list[ServerProcess], user: User, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Before"})
    page = await (await browsing.device()).new_page()
    before = await make_store(page, servers[0].url, user.token, servers[0].url)
    assert before == {"state": "idle", "role": None}  # not "closed": nothing has ended

    # StrictMode in development: effect, cleanup, effect, all before the first start is done.
    await page.evaluate(
        """async () => {
          const store = window.life.store;
          const first = store.start();
          store.close();
          await store.start();
          await first; // overtaken by close(): ends without an error
        }"""
    )
    await page.wait_for_function("() => window.life.store.state === 'live'", timeout=15_000)
    titles = await page.evaluate("window.life.store.list().map((t) => t.title)")
    assert titles == ["Before"]
    # Live: another device's write arrives, and the page's own reaches the server.
    await api.post("/api/tasks", json={"title": "Elsewhere"})
    await page.wait_for_function(
        "() => window.life.store.list().some((t) => t.title === 'Elsewhere')", timeout=15_000
    )
    await page.evaluate("window.life.store.create({ title: 'Here' }).then(() => window.life.store.flushed())")
    listed = (await api.get("/api/tasks")).json()["items"]
    assert sorted(task["title"] for task in listed) == ["Before", "Elsewhere", "Here"]
    assert await page.evaluate("window.life.errors") == []

    # Closed, it plays no part in sharing the socket any more.
    after = await page.evaluate("(() => { window.life.store.close(); return window.life.store.role; })()")
    assert after is None
    assert (await page.evaluate("window.life.states"))[-1] == ["closed", None]


async def test_start_rejects_and_says_why_when_the_api_refuses_the_pages_origin(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    # The page's origin is localhost, which no server lists in CORS_ORIGINS (they list
    # 127.0.0.1 origins): the browser refuses every answer, as it does offline.
    page = await (await browsing.device()).new_page()
    page_url = f"http://localhost:{servers[0].port}"
    await make_store(page, page_url, user.token, servers[1].url, start_timeout=2_000)
    await page.evaluate(
        """() => {
          window.life.store.start().then(
            () => (window.life.result = "started"),
            (error) => (window.life.result = String(error)),
          );
        }"""
    )
    await page.wait_for_function("() => window.life.result !== null", timeout=10_000)
    result = await page.evaluate("window.life.result")
    assert "CORS_ORIGINS" in result and page_url in result, result
    assert await page.evaluate("window.life.errors") == [result]  # onError is told too
    assert await page.evaluate("String(window.life.store.error)") == result
    assert await page.evaluate("window.life.store.state") in ("connecting", "offline")
