"""Two devices editing one task, one of them offline, in the demo page (real Chromium, the
network cut for real by tests/netcut.py): edits of different fields, and the same change
made on both, merge without a word; the same field set differently is shown as a
conflict, per field, with what this device had, what its user typed and what the other
device has, until the user keeps theirs or uses mine, in every tab of the device. A
delete of a task changed elsewhere is a conflict of the whole task. The server's state
and the requests the page made are checked, not only what the page shows.
"""

from __future__ import annotations

import httpx
from playwright.async_api import Page, Response, expect

from tests.browser.conftest import LIVE_TIMEOUT_MS, Browsing, Tab
from tests.browser.offline_support import (
    RECOVERY_MS,
    expect_waiting,
    rename,
    server_tasks,
    tab_at,
    until_offline,
)
from tests.netcut import Netcut
from tests.support import ServerProcess, User, wait_until


def patch_answers(page: Page) -> list[int]:
    """The status of every `PATCH` the page makes from now on."""
    answers: list[int] = []

    def note(response: Response) -> None:
        if response.request.method == "PATCH":
            answers.append(response.status)

    page.on("response", note)
    return answers


async def devices(
    browsing: Browsing, servers: list[ServerProcess], user: User, cut: Netcut, title: str
) -> tuple[Tab, Tab, Tab]:
    """Two laptop tabs behind the cut and a phone, all showing `title`; the laptop then goes offline."""
    laptop = await browsing.device(user.token)
    first, second = await tab_at(browsing, laptop, cut.url), await tab_at(browsing, laptop, cut.url)
    phone = await browsing.tab(await browsing.device(user.token), servers[1])
    for tab in (first, second, phone):
        await tab.expect_titles([title], timeout=LIVE_TIMEOUT_MS)
    await cut.refuse()
    for tab in (first, second):
        await until_offline(tab)
    return first, second, phone


async def landed(api: httpx.AsyncClient, title: str) -> bool:
    return title in await server_tasks(api)


async def test_the_same_field_set_on_two_devices_is_a_conflict_until_the_user_chooses(
    browsing: Browsing, servers: list[ServerProcess], user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Plan"})
    first, second, phone = await devices(browsing, servers, user, cut, "Plan")
    answers = patch_answers(first.page)
    await rename(first, "Plan", "Laptop plan")
    await first.row("Laptop plan").locator(".toggle").click()  # another field: merges
    await expect_waiting(first, 2)
    await rename(phone, "Plan", "Phone plan")
    await wait_until(lambda: landed(api, "Phone plan"), message="the phone's edit never landed")

    await cut.restore()
    for tab in (first, second):
        conflict = tab.page.locator("#conflicts li[data-key]")
        await expect(conflict).to_have_count(1, timeout=RECOVERY_MS)
        await expect(conflict).to_have_attribute("data-field", "title")
        await expect(conflict.locator(".seen")).to_have_text("“Plan”")
        await expect(conflict.locator(".wanted")).to_have_text("“Laptop plan”")
        await expect(conflict.locator(".server")).to_have_text("“Phone plan”")
        await tab.expect_titles(["Phone plan"])  # the other device's value, until the user chooses
        await expect(tab.row("Phone plan").locator(".toggle")).to_be_checked()
        await expect_waiting(tab, 0)
        await expect(tab.page.locator(".notice")).to_have_count(0)
    task = (await server_tasks(api))["Phone plan"]
    assert task["completed"] is True
    assert answers == [409, 200]  # the conflict is an answer, never retried; the held field sent again
    await expect(phone.row("Phone plan").locator(".toggle")).to_be_checked()

    # Chosen in one tab, settled in every tab; "mine" is a new edit on top of theirs.
    await second.page.locator("#conflicts li[data-key] .use-mine").click()
    for tab in (first, second, phone):
        await tab.expect_titles(["Laptop plan"], timeout=LIVE_TIMEOUT_MS)
    for tab in (first, second):
        await expect(tab.page.locator("#conflicts li")).to_have_count(0)
        await expect(tab.page.locator("#conflicts-box")).to_be_hidden()
    await wait_until(lambda: landed(api, "Laptop plan"), message="'use mine' never reached the server")


async def test_different_fields_and_the_same_change_merge_and_keep_theirs_sends_nothing(
    browsing: Browsing, servers: list[ServerProcess], user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Walk dog"})
    await api.post("/api/tasks", json={"title": "Call mum"})
    titles = ["Call mum", "Walk dog"]
    laptop = await tab_at(browsing, await browsing.device(user.token), cut.url)
    phone = await browsing.tab(await browsing.device(user.token), servers[1])
    for tab in (laptop, phone):
        await tab.expect_titles(titles, timeout=LIVE_TIMEOUT_MS)
    await cut.refuse()
    await until_offline(laptop)
    answers = patch_answers(laptop.page)
    await rename(laptop, "Walk dog", "Walk the dog")
    await rename(laptop, "Call mum", "Call mom")
    await expect_waiting(laptop, 2)
    await rename(phone, "Walk dog", "Walk the dog")  # the same change
    await phone.row("Walk the dog").locator(".toggle").click()  # and another field
    await rename(phone, "Call mum", "Call mother")
    await wait_until(lambda: landed(api, "Call mother"), message="the phone's edits never landed")

    await cut.restore()
    conflict = laptop.page.locator("#conflicts li[data-key]")
    await expect(conflict).to_have_count(1, timeout=RECOVERY_MS)  # only the task set differently
    await expect(conflict.locator(".wanted")).to_have_text("“Call mom”")
    await expect(conflict.locator(".server")).to_have_text("“Call mother”")
    await laptop.expect_titles(["Call mother", "Walk the dog"])
    await expect(laptop.row("Walk the dog").locator(".toggle")).to_be_checked()
    await expect_waiting(laptop, 0)
    assert sorted(answers) == [409, 409]  # both had a field in disagreement; nothing left to send

    await conflict.locator(".keep-theirs").click()
    await expect(laptop.page.locator("#conflicts li")).to_have_count(0)
    await laptop.page.reload()  # settled for good: not back from storage either
    await laptop.until_live()
    await laptop.expect_titles(["Call mother", "Walk the dog"])
    await expect(laptop.page.locator("#conflicts li")).to_have_count(0)
    tasks = await server_tasks(api)
    assert sorted(tasks) == ["Call mother", "Walk the dog"]
    assert tasks["Walk the dog"]["completed"] is True
    assert tasks["Call mother"]["version"] == 2  # nothing was sent for "keep theirs"


async def test_deleting_a_task_changed_elsewhere_is_a_conflict_of_the_whole_task(
    browsing: Browsing, servers: list[ServerProcess], user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Renew passport"})
    first, second, phone = await devices(browsing, servers, user, cut, "Renew passport")
    await first.row("Renew passport").locator(".delete").click()
    await first.expect_titles([])
    await rename(phone, "Renew passport", "Renew passport (urgent)")
    await wait_until(lambda: landed(api, "Renew passport (urgent)"), message="the phone's edit never landed")

    await cut.restore()
    for tab in (first, second):
        conflict = tab.page.locator("#conflicts li[data-key]")
        await expect(conflict).to_have_count(1, timeout=RECOVERY_MS)
        await expect(conflict).to_have_attribute("data-field", "delete")
        await expect(conflict.locator(".what")).to_contain_text("Renew passport (urgent)")
        await tab.expect_titles(["Renew passport (urgent)"])  # not deleted blindly

    await first.page.locator("#conflicts li[data-key] .use-mine").click()
    for tab in (first, second, phone):
        await tab.expect_titles([], timeout=LIVE_TIMEOUT_MS)
    for tab in (first, second):
        await expect(tab.page.locator("#conflicts li")).to_have_count(0)
    await wait_until(lambda: _no_tasks(api), message="'use mine' never deleted it")


async def _no_tasks(api: httpx.AsyncClient) -> bool:
    return await server_tasks(api) == {}


async def test_a_rename_that_arrives_while_the_title_editor_is_open_is_a_conflict_not_overwritten(
    browsing: Browsing, servers: list[ServerProcess], user: User, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Plan"})
    laptop = await browsing.tab(await browsing.device(user.token), servers[0])
    phone = await browsing.tab(await browsing.device(user.token), servers[1])
    for tab in (laptop, phone):
        await tab.expect_titles(["Plan"], timeout=LIVE_TIMEOUT_MS)
    answers = patch_answers(laptop.page)
    # The laptop's user opens the title editor and types; before they save, the phone
    # renames the task and the laptop, online, hears of it.
    await laptop.row("Plan").locator(".title").click()
    editor = laptop.page.locator(".title-edit")
    await editor.fill("Laptop plan")
    await rename(phone, "Plan", "Phone plan")
    await wait_until(lambda: landed(api, "Phone plan"), message="the phone's edit never landed")
    toggle = laptop.page.locator("#tasks li .toggle")
    await expect(toggle).to_have_attribute("aria-label", "Done: Phone plan", timeout=LIVE_TIMEOUT_MS)
    await expect(editor).to_have_value("Laptop plan")  # still open: not saved yet

    await editor.press("Enter")
    # Tested against the title the editor showed, not the one shown when it is saved.
    conflict = laptop.page.locator("#conflicts li[data-key]")
    await expect(conflict).to_have_count(1, timeout=LIVE_TIMEOUT_MS)
    await expect(conflict).to_have_attribute("data-field", "title")
    await expect(conflict.locator(".seen")).to_have_text("“Plan”")
    await expect(conflict.locator(".wanted")).to_have_text("“Laptop plan”")
    await expect(conflict.locator(".server")).to_have_text("“Phone plan”")
    await laptop.expect_titles(["Phone plan"])
    await expect_waiting(laptop, 0)
    assert answers == [409]
    task = (await server_tasks(api))["Phone plan"]
    assert task["version"] == 2  # the phone's rename stands: nothing overwrote it
    await phone.expect_titles(["Phone plan"])
