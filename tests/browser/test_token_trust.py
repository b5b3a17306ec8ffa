"""What the browser shows of a user's stored tasks, for which token. The client cannot
check a token's signature, so a forged token (`alg: none`, another user's `sub`) in the
same browser profile must see nothing of that user's stored list, online or offline; a
new valid token sees it once the server has accepted it; and a session that ends (the
server refuses its tokens, or the provider has none) takes the stored list with it,
unless it holds a write not sent yet, which waits for the next sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import httpx
from playwright.async_api import BrowserContext, Page, expect

from tests.browser.conftest import Browsing
from tests.browser.offline_support import RECOVERY_MS, server_titles
from tests.browser.store_probe import open_store, until
from tests.netcut import Netcut
from tests.support import ServerProcess, User, mint, wait_until

# How often the socket's tab notes the token the socket was renewed with (live_sync.js).
HEARTBEAT_SECONDS = 15
# Short-lived tokens, renewed by a provider every few seconds.
SHORT_TOKEN_SECONDS = 3
# The server takes a token up to 30 s past its `exp` (its default clock leeway): one that
# expired this long ago is accepted for a few seconds more, then its socket is closed
# (4401) and it is refused from then on.
EXPIRED_SECONDS_AGO = 25

# A store started in the page with `arg.token` (or, with `arg.provider`, the test's
# `window.mintToken`), recording every title it ever showed: a listener of every change
# and state, from before `start()`.
WATCH_STORE = """async ({ token, provider }) => {
  const module = await import("/client/tasksync.js");
  const watch = { shown: [], states: [], errors: [], result: null };
  const client = new module.TasksyncClient({
    token: provider ? () => window.mintToken() : token,
    baseUrl: location.origin,
  });
  const store = new module.LiveStore(client, {
    onState: (state) => watch.states.push(state),
    onError: (error) => watch.errors.push(String(error)),
  });
  store.subscribe(() => {
    for (const { title } of store.tasks.values()) if (!watch.shown.includes(title)) watch.shown.push(title);
  });
  watch.store = store;
  window.watch = watch;
  store.start().then(() => (watch.result = "started"), (error) => (watch.result = String(error)));
}"""

# What IndexedDB holds for `user` at this origin (null: no database), read without
# creating one (an open of a missing database would make an empty version 1).
STORED = """async ({ user }) => {
  const name = `tasksync:${location.origin}/:${user}`;
  if (!(await indexedDB.databases()).some((d) => d.name === name)) return null;
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const tx = db.transaction(["tasks", "meta", "outbox", "conflicts"], "readonly");
  const get = (request) => new Promise((resolve) => (request.onsuccess = () => resolve(request.result)));
  const [tasks, writes, conflicts, accepted] = await Promise.all([
    get(tx.objectStore("tasks").getAll()),
    get(tx.objectStore("outbox").count()),
    get(tx.objectStore("conflicts").count()),
    get(tx.objectStore("meta").get("accepted")),
  ]);
  db.close();
  return { titles: tasks.map((t) => t.title).sort(), writes, conflicts, accepted: accepted ?? null };
}"""

# Every title the demo ever rendered in its list, from the first byte of the page on.
RENDERED = """window.rendered = [];
new MutationObserver(() => {
  for (const el of document.querySelectorAll("#tasks li .title"))
    if (!window.rendered.includes(el.textContent)) window.rendered.push(el.textContent);
}).observe(document, { subtree: true, childList: true, characterData: true });"""


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def forged(user_id: str) -> str:
    """A token anyone can write: no signature (`alg: none`), the given user's `sub`."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'sub': user_id, 'iat': now, 'exp': now + 3600})}."


async def watch(context: BrowserContext, url: str, token: str = "", *, provider: bool = False) -> Page:
    """A page at `url` (loaded now, so it can run offline later) with a store started
    by WATCH_STORE as `window.watch.store`."""
    page = await context.new_page()
    await page.goto(url + "/")
    await page.evaluate(WATCH_STORE, {"token": token, "provider": provider})
    return page


async def watched(page: Page, key: str) -> Any:
    return await page.evaluate(f"window.watch.{key}")


async def stored(page: Page, user: User) -> dict[str, Any] | None:
    result: dict[str, Any] | None = await page.evaluate(STORED, {"user": user.id})
    return result


async def kept_for(context: BrowserContext, url: str, user: User, title: str) -> None:
    """The user's list, with `title`, stored in this profile by a store of their own."""
    page = await context.new_page()
    await open_store(page, url, user.token)
    await until(page, "store.state === 'live' && store.list().some((t) => t.title === arg)", title)

    async def is_stored() -> bool:
        return title in ((await stored(page, user)) or {}).get("titles", [])

    await wait_until(is_stored, message=f"{title!r} stored")


async def test_a_forged_token_is_never_shown_the_stored_list_online(
    browsing: Browsing, servers: list[ServerProcess], user: User, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Private"})
    profile = await browsing.device()
    await kept_for(profile, servers[0].url, user, "Private")

    page = await watch(profile, servers[0].url, forged(user.id))
    await page.wait_for_function("() => window.watch.result !== null")
    assert "refused" in await watched(page, "result")
    assert await watched(page, "shown") == []
    assert await watched(page, "store.state") == "closed"
    # A refused token proves nothing about whose list it is: the user's stays.
    assert (await stored(page, user) or {}).get("titles") == ["Private"]


async def test_the_demo_shows_a_pasted_forged_token_nothing(
    browsing: Browsing, servers: list[ServerProcess], user: User, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Private"})
    profile = await browsing.device()
    await profile.add_init_script(RENDERED)
    await kept_for(profile, servers[0].url, user, "Private")

    page = await profile.new_page()
    await page.goto(servers[0].url + "/")
    await page.fill("#token-input", forged(user.id))
    await page.click("#token-signin button")
    await expect(page.locator("#signin .notice.error")).to_contain_text("That token was not accepted.")
    assert await page.evaluate("window.rendered") == []


async def test_offline_only_the_token_last_accepted_opens_the_stored_list(
    browsing: Browsing, user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Private"})
    profile = await browsing.device()
    await kept_for(profile, cut.url, user, "Private")
    renewed = mint(user.id, renewed=True)  # valid, but never shown to the server yet
    pages = [await profile.new_page() for _ in range(4)]
    for page in pages:
        await page.goto(cut.url + "/")

    await cut.refuse()
    known, stranger, fresh, fresh_again = pages
    await known.evaluate(WATCH_STORE, {"token": user.token, "provider": False})
    await known.wait_for_function("() => window.watch.result === 'started'")
    assert await watched(known, "shown") == ["Private"]  # what offline use is for
    for page, token in ((stranger, forged(user.id)), (fresh, renewed)):
        await page.evaluate(WATCH_STORE, {"token": token, "provider": False})
        await page.wait_for_function("() => watch.states.includes('offline') || watch.shown.length > 0")
    for page in (stranger, fresh):
        assert await watched(page, "shown") == []
        assert await watched(page, "store.pending.length") == 0
        assert await watched(page, "result") is None  # still waiting for the server

    await cut.restore()
    await fresh.wait_for_function("() => window.watch.result === 'started'", timeout=RECOVERY_MS)
    assert await watched(fresh, "shown") == ["Private"]
    await stranger.wait_for_function("() => window.watch.result !== null", timeout=RECOVERY_MS)
    assert "refused" in await watched(stranger, "result")
    assert await watched(stranger, "shown") == []

    # The new token is now the one the server last accepted: offline, it opens the list.
    await fresh_again.goto(cut.url + "/")
    await cut.refuse()
    await fresh_again.evaluate(WATCH_STORE, {"token": renewed, "provider": False})
    await fresh_again.wait_for_function("() => window.watch.result === 'started'")
    assert await watched(fresh_again, "shown") == ["Private"]


async def test_an_expired_session_deletes_the_stored_list(
    browsing: Browsing, servers: list[ServerProcess], user: User, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Private"})
    profile = await browsing.device()
    session = mint(user.id, ttl=-EXPIRED_SECONDS_AGO)  # the provider can never renew it
    page = await watch(profile, servers[0].url, session)
    await page.wait_for_function("() => window.watch.store.state === 'live'")
    assert await watched(page, "shown") == ["Private"]
    assert (await stored(page, user) or {}).get("titles") == ["Private"]

    # At `exp` (+ leeway) the server closes the socket; the same token is refused on every retry.
    # The store closes at once; what it deleted is reported once storage has done it.
    await page.wait_for_function("() => window.watch.store.state === 'closed'", timeout=RECOVERY_MS)
    deleted = "() => window.watch.errors.some((error) => error.includes('deleted'))"
    await page.wait_for_function(deleted, timeout=RECOVERY_MS)
    assert await watched(page, "store.tasks.size") == 0
    assert await stored(page, user) in (None, {"titles": [], "writes": 0, "conflicts": 0, "accepted": None})


async def test_a_session_ended_elsewhere_keeps_only_what_holds_an_unsent_write(
    browsing: Browsing, user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Private"})
    signed_in = True

    def mint_token() -> str:
        # Signed out at the auth server: the provider has no token any more.
        return mint(user.id, ttl=SHORT_TOKEN_SECONDS) if signed_in else ""

    profile = await browsing.device()
    await profile.expose_function("mintToken", mint_token)
    page = await watch(profile, cut.url, provider=True)
    await page.wait_for_function("() => window.watch.store.state === 'live'")

    await cut.refuse()
    await page.evaluate("window.watch.store.create({ title: 'Typed offline' })")
    assert (await stored(page, user) or {}).get("writes") == 1
    signed_in = False
    # The store closes at once; what it kept is reported once storage has decided it.
    await page.wait_for_function("() => window.watch.store.state === 'closed'", timeout=RECOVERY_MS)
    kept = "() => window.watch.errors.some((error) => error.includes('kept'))"
    await page.wait_for_function(kept, timeout=RECOVERY_MS)
    shown = "[watch.store.tasks.size, watch.store.pending.length, watch.store.conflicts.length]"
    assert await page.evaluate(shown) == [0, 0, 0]
    assert await stored(page, user) == {
        "titles": ["Private"],
        "writes": 1,
        "conflicts": 0,
        "accepted": None,  # the ended session's token opens nothing, even offline
    }

    # The next sign-in as the same user shows the kept write and sends it.
    await cut.restore()
    signed_in = True
    again = await watch(profile, cut.url, provider=True)
    await again.wait_for_function("() => window.watch.result === 'started'", timeout=RECOVERY_MS)
    await again.wait_for_function("() => window.watch.store.pending.length === 0", timeout=RECOVERY_MS)
    assert sorted(await watched(again, "shown")) == ["Private", "Typed offline"]
    assert await server_titles(api) == ["Typed offline", "Private"]


async def test_a_token_renewed_on_the_open_socket_is_remembered_as_accepted(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    minted: list[str] = []

    def mint_token() -> str:
        minted.append(mint(user.id, ttl=SHORT_TOKEN_SECONDS))
        return minted[-1]

    profile = await browsing.device()
    await profile.expose_function("mintToken", mint_token)
    page = await watch(profile, servers[0].url, provider=True)
    await page.wait_for_function("() => window.watch.store.state === 'live'")
    assert (await stored(page, user) or {}).get("accepted") == sha256(minted[0])

    # Renewed every few seconds on the same socket, never at a hello: one of them is
    # remembered within two heartbeats, so an offline start with it opens the list.
    async def accepted_now() -> str | None:
        value: str | None = ((await stored(page, user)) or {}).get("accepted")
        return value if value != sha256(minted[0]) else None

    await wait_until(accepted_now, timeout=3 * HEARTBEAT_SECONDS, message="a renewed token remembered")
    assert (await stored(page, user) or {}).get("accepted") in {sha256(token) for token in minted[1:]}
