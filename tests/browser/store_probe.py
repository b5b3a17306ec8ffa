"""A `LiveStore` made in a page by the test itself (through `page.evaluate`, from the
module the server serves at `/client/`), for what the demo page does not show: the
store's rejections, what `onChange` and `onDropped` were told, the requests it made.

The page is the demo opened without a token (its sign-in form: no store of its own), so
the module is same-origin with the API, as a real app's would be.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import BrowserContext, Page

OPEN_STORE = """async ({ token }) => {
  const module = await import("/client/tasksync.js");
  const probe = { module, changes: [], dropped: [], conflicts: [], errors: [] };
  const client = new module.TasksyncClient({ token, baseUrl: location.origin });
  probe.client = client;
  probe.store = new module.LiveStore(client, {
    onChange: (c) => probe.changes.push({ type: c.type, id: c.id, echo: c.echo }),
    onDropped: (write, error) =>
      probe.dropped.push({ id: write.id, reason: write.reason, status: error.status }),
    onConflict: (conflict) => probe.conflicts.push(conflict),
    onError: (error) => probe.errors.push(String(error)),
  });
  await probe.store.start();
  window.probe = probe;
}"""


async def store_page(context: BrowserContext, url: str, token: str) -> Page:
    """A page at `url` (a server's or a proxy's) holding a started store as `window.probe.store`."""
    page = await context.new_page()
    await open_store(page, url, token)
    return page


async def open_store(page: Page, url: str, token: str) -> None:
    """Load `url` in `page` and start a store there (`window.probe.store`)."""
    await page.goto(url + "/")
    await page.evaluate(OPEN_STORE, {"token": token})


async def probe(page: Page, body: str, arg: Any = None) -> Any:
    """Run `body` (a function body; `probe`, `store` and `arg` in scope) in the page."""
    script = f"async (arg) => {{ const probe = window.probe; const store = probe.store; {body} }}"
    return await page.evaluate(script, arg)


async def until(page: Page, condition: str, arg: Any = None, timeout: float = 15_000) -> None:
    """Wait until the expression `condition` (`probe`, `store` and `arg` in scope) holds."""
    script = (
        "(arg) => { const probe = window.probe; const store = probe?.store;"
        f" return Boolean(store && ({condition})); }}"
    )
    await page.wait_for_function(script, arg=arg, timeout=timeout)
