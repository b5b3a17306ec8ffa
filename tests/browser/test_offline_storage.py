"""What the demo keeps in the browser: a reload resumes from the stored `seq` (no
snapshot refetch), signing out deletes the user's data, a browser without IndexedDB
still saves every write, with a note that nothing survives the tab, writes queued by the
previous version of the stored database are still sent after its upgrade, and the
service worker keeps every module the page imports (one missing would break an offline
load).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.async_api import Request, expect

from server.app import create_app
from tests.browser.conftest import LIVE_TIMEOUT_MS, Browsing
from tests.browser.offline_support import add_task, expect_waiting, server_titles
from tests.browser.store_probe import open_store, probe, until
from tests.conftest import make_settings
from tests.support import ServerProcess, User

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "js"
STORED_DATABASES = (
    "indexedDB.databases().then((all) => all.map((d) => d.name).filter((n) => n.startsWith('tasksync:')))"
)


async def test_a_reload_resumes_from_the_stored_seq_without_refetching(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
        await api.post("/api/tasks", json={"title": "Kept"})
        tab = await browsing.tab(await browsing.device(user.token), servers[0])
        await tab.expect_titles(["Kept"])
        seq = int(await tab.page.locator("#app").get_attribute("data-seq") or "0")

        requests: list[Request] = []
        tab.page.on("request", lambda request: requests.append(request))
        await tab.page.reload()
        await tab.until_live()
        await tab.expect_titles(["Kept"])
        await api.post("/api/tasks", json={"title": "After the reload"})
        await tab.expect_titles(["After the reload", "Kept"])

    lists = [r.url for r in requests if re.search(r"/api/tasks(\?|$)", r.url) and r.method == "GET"]
    assert lists == []  # the stored list, then the events after its seq
    assert tab.sockets[-1].url.endswith(f"/api/ws?since={seq}")


async def test_signing_out_deletes_what_the_browser_kept_and_closes_the_other_tabs(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    laptop = await browsing.device()
    tabs = [await browsing.tab(laptop, servers[0], live=False) for _ in range(2)]
    for tab in tabs:  # a pasted token is kept per tab
        await tab.page.fill("#token-input", user.token)
        await tab.page.click("#token-signin button")
        await tab.until_live()
    first, second = tabs
    await add_task(first, "Mine only")
    await expect_waiting(first, 0)
    await second.expect_titles(["Mine only"])
    assert await first.page.evaluate(STORED_DATABASES) != []

    await first.page.click("#signout")
    for tab in tabs:
        await expect(tab.page.locator("#signin")).to_be_visible()
    await expect(second.page.locator("#signin .notice")).to_contain_text("Signed out in another tab.")
    await first.page.wait_for_function(f"{STORED_DATABASES}.then((names) => names.length === 0)")


async def test_without_indexeddb_writes_are_saved_and_the_page_says_they_are_not_kept(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    device = await browsing.device(user.token)
    await device.add_init_script("Object.defineProperty(window, 'indexedDB', { get: () => undefined });")
    tab = await browsing.tab(device, servers[0])
    await expect(tab.page.locator("#storage-note")).to_contain_text("kept in this tab only")
    await add_task(tab, "Still saved")
    await expect_waiting(tab, 0, timeout=LIVE_TIMEOUT_MS)
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
        assert await server_titles(api) == ["Still saved"]


def test_the_service_worker_keeps_every_client_module() -> None:
    worker = (CLIENT_DIR / "demo" / "sw.js").read_text()
    kept = set(re.findall(r'"client/([\w/.-]+)"', worker))
    modules = {path.relative_to(CLIENT_DIR).as_posix() for path in CLIENT_DIR.rglob("*.js")}
    # react.js and react_provider.js are the React binding (tasksync/react) and sw.js the
    # app-shell helper for an app's service worker (tasksync/sw): the demo imports none.
    react = {"react.js", "react_provider.js"}
    assert {name for name in kept if name.endswith(".js")} == modules - {"demo/sw.js", "sw.js", *react}
    assert "demo/demo.css" in kept


async def test_the_service_worker_is_served_where_its_scope_covers_the_page(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path}/tasksync.db"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        worker = await client.get("/sw.js")
        assert worker.status_code == 200
        assert worker.headers["content-type"].startswith("text/javascript")
        assert worker.headers["cache-control"] == "no-cache"  # a new version is picked up at once
        assert worker.text == (CLIENT_DIR / "demo" / "sw.js").read_text()


async def test_a_full_storage_quota_falls_back_to_memory_and_still_saves(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    device = await browsing.device(user.token)
    await device.add_init_script(
        "IDBObjectStore.prototype.add = function () {"
        " throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };"
    )
    tab = await browsing.tab(device, servers[0])
    await expect(tab.page.locator("#storage-note")).to_be_hidden()
    await add_task(tab, "Written to memory")  # queuing it is the first add to IndexedDB
    await expect(tab.page.locator("#storage-note")).to_contain_text("storage quota is used up")
    await expect_waiting(tab, 0, timeout=LIVE_TIMEOUT_MS)
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
        assert await server_titles(api) == ["Written to memory"]


# What version 1 of the stored database held: a mirror and a queue whose edits were a
# toggle and a merge patch with If-Match (as the client before field-level edits made them).
SEED_VERSION_1 = """async ({ token, task }) => {
  const { tokenClaims } = await import("/client/tasksync.js");
  const name = `tasksync:${location.origin}/:${tokenClaims(token).sub}`;
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("tasks", { keyPath: "id" });
      db.createObjectStore("meta");
      db.createObjectStore("outbox", { keyPath: "n", autoIncrement: true });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const tx = db.transaction(["tasks", "meta", "outbox"], "readwrite");
  tx.objectStore("tasks").put(task);
  tx.objectStore("meta").put(1, "seq");
  const common = { id: task.id, ifNoneMatch: false, clientId: "old-tab", createdAt: task.created_at,
    attempts: 0 };
  const path = `api/tasks/${task.id}`;
  tx.objectStore("outbox").add({ ...common, operation: "toggle", method: "PATCH", path: `${path}/complete`,
    body: null, ifMatch: 1, key: crypto.randomUUID() });
  tx.objectStore("outbox").add({ ...common, operation: "update", method: "PATCH", path,
    body: { title: "Renamed before the upgrade" }, ifMatch: 2, key: crypto.randomUUID() });
  await new Promise((resolve) => (tx.oncomplete = resolve));
  db.close();
}"""


async def test_writes_queued_by_the_previous_storage_version_are_sent_after_the_upgrade(
    browsing: Browsing, servers: list[ServerProcess], user: User, api: httpx.AsyncClient
) -> None:
    task = (await api.post("/api/tasks", json={"title": "Queued long ago"})).json()
    page = await (await browsing.device()).new_page()
    await page.goto(servers[0].url + "/")  # the sign-in form: no store of the page's own
    await page.evaluate(SEED_VERSION_1, {"token": user.token, "task": task})

    await open_store(page, servers[0].url, user.token)
    await until(page, "store.pending.length === 0 && store.state === 'live'", timeout=LIVE_TIMEOUT_MS)
    now = (await api.get(f"/api/tasks/{task['id']}")).json()
    assert (now["title"], now["completed"], now["version"]) == ("Renamed before the upgrade", True, 3)
    assert await probe(page, "return [probe.dropped, store.conflicts]") == [[], []]
