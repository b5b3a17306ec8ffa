"""The browser client's write path (docs/sync-model.md) in real Chromium, through a
`LiveStore` each test opens in its own pages: a refused write in the middle of the queue
leaves the later ones to apply, a store that cannot send a write says so at once instead
of losing it, and `echo` is only ever a tab's own writes. The server's own state and
the requests the page made are checked, not only what the store says.
"""

from __future__ import annotations

import re

import httpx
from playwright.async_api import Page, Response, WebSocketRoute

from tests.browser.conftest import Browsing
from tests.browser.offline_support import RECOVERY_MS, head_seq
from tests.browser.store_probe import open_store, probe, store_page, until
from tests.netcut import Netcut
from tests.support import ServerProcess, User

TASK_CHANGES = "probe.changes.filter((c) => c.type.startsWith('task.') && c.id === arg)"
TASK_EVENT = re.compile(r'"type":\s*"task\.')


async def test_a_refused_write_in_the_middle_of_the_queue_leaves_the_later_ones_to_apply(
    browsing: Browsing, user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    task = (await api.post("/api/tasks", json={"title": "Write report"})).json()
    page = await store_page(await browsing.device(), cut.url, user.token)
    await until(page, "store.get(arg) && store.state === 'live'", task["id"])
    answers: list[int] = []

    def note(response: Response) -> None:
        if response.request.method == "PATCH":
            answers.append(response.status)

    page.on("response", note)
    await cut.refuse()
    await until(page, "store.state !== 'live'")
    # The middle one holds a NUL character, which only the server refuses.
    for description in ("Draft", "Draft\x00", "Final"):
        await probe(page, "await store.update(arg[0], { description: arg[1] })", [task["id"], description])
    elsewhere = await api.patch(f"/api/tasks/{task['id']}", json={"title": "Write the report"})
    assert elsewhere.status_code == 200

    await cut.restore()
    await until(page, "store.pending.length === 0", timeout=RECOVERY_MS)
    server = (await api.get(f"/api/tasks/{task['id']}")).json()
    assert (server["title"], server["description"]) == ("Write the report", "Final")
    assert answers == [200, 422, 200]  # the third was rebased onto what the refused one had seen
    dropped = await probe(page, "return probe.dropped")
    assert dropped == [{"id": task["id"], "reason": "rejected", "status": 422}]
    assert await probe(page, "return store.conflicts") == []
    shown = await probe(page, "const t = store.get(arg); return [t.title, t.description]", task["id"])
    assert shown == ["Write the report", "Final"]


async def test_a_write_through_a_store_that_cannot_send_it_throws_at_once(
    browsing: Browsing, servers: list[ServerProcess], user: User, api: httpx.AsyncClient
) -> None:
    device = await browsing.device()
    first, second, third = [await store_page(device, servers[0].url, user.token) for _ in range(3)]
    attempt = """
      try { await arg.store.create({ title: arg.title }); return "resolved"; }
      catch (error) { return error instanceof probe.module.StoreClosedError ? error.name : String(error); }
    """

    never_started = attempt.replace("arg.store", "new probe.module.LiveStore(probe.client)")
    with_store = attempt.replace("arg.store", "store")
    assert await probe(first, never_started, {"title": "Never started"}) == "StoreClosedError"

    await probe(second, "store.close()")
    assert await probe(second, with_store, {"title": "After close"}) == "StoreClosedError"
    assert await probe(second, "return store.pending.length") == 0

    await probe(first, "await store.signOut()")  # the third tab is signed out with it
    assert await probe(third, with_store, {"title": "After sign-out"}) == "StoreClosedError"
    assert await probe(third, "return [store.state, store.pending.length]") == ["closed", 0]

    fresh = await store_page(device, servers[0].url, user.token)
    assert await probe(fresh, "return store.pending.length") == 0  # nothing was queued for later either
    assert (await api.get("/api/tasks")).json()["items"] == []


class HeldEvents:
    """Holds the task events the server sends a page's socket until `release()`, so that
    the answers to the writes arrive before their events (as they may on any network)."""

    def __init__(self) -> None:
        self.held: list[str | bytes] = []
        self.route: WebSocketRoute | None = None

    async def attach(self, page: Page) -> None:
        def routed(route: WebSocketRoute) -> None:
            self.route = route
            server = route.connect_to_server()
            server.on_message(self.from_server)

        await page.route_web_socket(re.compile(r"/api/ws"), routed)

    def from_server(self, message: str | bytes) -> None:
        if self.route is None:
            return
        if self.held or (isinstance(message, str) and TASK_EVENT.search(message)):
            self.held.append(message)
        else:
            self.route.send(message)

    def release(self) -> None:
        held, self.held = self.held, []
        for message in held:
            if self.route is not None:
                self.route.send(message)


async def test_echo_is_only_a_tabs_own_writes(
    browsing: Browsing, servers: list[ServerProcess], user: User, api: httpx.AsyncClient
) -> None:
    device = await browsing.device()
    leader = await device.new_page()
    events = HeldEvents()
    await events.attach(leader)
    await open_store(leader, servers[0].url, user.token)
    await until(leader, "store.role === 'leader' && store.state === 'live'")
    follower = await store_page(device, servers[0].url, user.token)
    await until(follower, "store.role === 'follower'")

    # Each tab makes writes; the leader sends them all and relays every answer, each
    # before the event it caused.
    made: dict[str, list[str]] = {}
    for tab, name in ((leader, "leader"), (follower, "follower")):
        ids: list[str] = []
        for i in range(2):
            created = await probe(tab, "return (await store.create({ title: arg })).id", f"{name} {i}")
            await probe(tab, "await store.complete(arg)", created)
            ids.append(created)
        made[name] = ids
    for tab in (leader, follower):
        await until(tab, "store.pending.length === 0")
    events.release()
    head = await head_seq(api)
    for tab in (leader, follower):
        await until(tab, "store.seq >= arg", head)

    for tab, own, other in ((leader, "leader", "follower"), (follower, "follower", "leader")):
        for task_id in made[own]:
            assert any(c["echo"] for c in await probe(tab, f"return {TASK_CHANGES}", task_id)), (own, task_id)
        for task_id in made[other]:
            changes = await probe(tab, f"return {TASK_CHANGES}", task_id)
            assert changes and not any(c["echo"] for c in changes), (own, changes)
