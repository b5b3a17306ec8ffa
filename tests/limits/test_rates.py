"""Per-user request rates (writes, reads, stream opens): within the budget every
response says what is left; over it, `429` problem+json with `Retry-After` and the IETF
`RateLimit` / `RateLimit-Policy` fields; other users and other budgets are untouched."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.api.helpers import assert_problem, create, list_ids
from tests.conftest import AppFactory
from tests.support import User, window_start

RATE_LIMIT = re.compile(r'^"(?P<name>\w+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


def remaining(response: httpx.Response) -> int:
    match = RATE_LIMIT.match(response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return int(match["r"])


# Windows of an hour: `limits`' sliding-window counter lets hits through early when a
# window turns (it weighs the previous window's count down), so a test crossing a
# minute boundary could see an extra request allowed; an hour makes that vanishingly rare.
@pytest.fixture(scope="module")
async def limited(app_factory: AppFactory) -> httpx.AsyncClient:
    return await app_factory(
        rate_limit_writes="3/hour",
        rate_limit_reads="4/hour",
        rate_limit_stream_opens="2/hour",
        rate_limit_refusal_delay_seconds=0,  # held-back refusals: their own test below
    )


async def test_writes_over_the_budget_get_429_with_when_to_return(
    limited: httpx.AsyncClient, user: User
) -> None:
    answers = [
        await limited.post("/api/tasks", json={"title": f"t{i}"}, headers=user.headers) for i in range(3)
    ]
    assert [r.status_code for r in answers] == [201, 201, 201]
    assert [remaining(r) for r in answers] == [2, 1, 0]
    assert answers[0].headers["ratelimit-policy"] == '"writes";q=3;w=3600'
    refused = await limited.post("/api/tasks", json={"title": "too many"}, headers=user.headers)
    problem = assert_problem(refused, 429)
    assert problem["type"].endswith("rate-limited")
    retry_after = int(refused.headers["retry-after"])
    # At most the rest of the window, plus the time one slot takes to free after it
    # turns (window ÷ quota): then a write fits again.
    assert 1 <= retry_after <= 3600 + 3600 // 3
    assert remaining(refused) == 0 and refused.headers["ratelimit-policy"] == '"writes";q=3;w=3600'
    # Every write kind spends the same budget, and a refused one changes nothing.
    task_id = answers[0].json()["id"]
    for method, path in (("PATCH", f"/api/tasks/{task_id}/complete"), ("DELETE", f"/api/tasks/{task_id}")):
        assert_problem(await limited.request(method, path, headers=user.headers), 429)
    # Reads have their own budget: the list still answers, with all three tasks.
    listed = await limited.get("/api/tasks", headers=user.headers)
    assert listed.status_code == 200 and len(listed.json()["items"]) == 3
    assert listed.headers["ratelimit-policy"] == '"reads";q=4;w=3600'
    assert not listed.json()["items"][0]["completed"]


async def test_one_user_at_its_limit_costs_another_nothing(
    limited: httpx.AsyncClient, user: User, other_user: User
) -> None:
    await asyncio.gather(
        *(limited.post("/api/tasks", json={"title": "x"}, headers=user.headers) for _ in range(8))
    )
    assert len(await list_ids(limited, user)) == 3
    fresh = await limited.post("/api/tasks", json={"title": "mine"}, headers=other_user.headers)
    assert fresh.status_code == 201 and remaining(fresh) == 2


async def test_concurrent_writes_never_exceed_the_budget(limited: httpx.AsyncClient, user: User) -> None:
    answers = await asyncio.gather(
        *(limited.post("/api/tasks", json={"title": "burst"}, headers=user.headers) for _ in range(20))
    )
    assert sorted(r.status_code for r in answers) == [201] * 3 + [429] * 17
    assert len(await list_ids(limited, user)) == 3


async def test_reads_over_the_budget_get_429(limited: httpx.AsyncClient, user: User) -> None:
    task = await create(limited, user)
    codes = [
        (await limited.get(f"/api/tasks/{task['id']}", headers=user.headers)).status_code for _ in range(4)
    ]
    assert codes == [200, 200, 200, 200]
    for path in ("/api/tasks", f"/api/tasks/{task['id']}", "/api/changes?since=0"):
        refused = await limited.get(path, headers=user.headers)
        assert_problem(refused, 429)
        assert refused.headers["ratelimit-policy"] == '"reads";q=4;w=3600'


async def test_a_long_poll_spends_a_read_never_a_stream_open(limited: httpx.AsyncClient, user: User) -> None:
    # A poller following a busy user re-polls after every event: were a parked poll a
    # stream open, it would spend the budget the user's socket reconnects need.
    await create(limited, user)
    immediate = await limited.get("/api/changes", params={"since": 0, "wait": 5}, headers=user.headers)
    assert immediate.status_code == 200 and immediate.headers["ratelimit-policy"] == '"reads";q=4;w=3600'
    for _ in range(3):  # more parked polls than the stream-open budget (2) allows
        parked = await limited.get("/api/changes", params={"since": 1, "wait": 1}, headers=user.headers)
        assert parked.status_code == 200 and parked.json()["events"] == []
        assert parked.headers["ratelimit-policy"] == '"reads";q=4;w=3600'
    # The fifth read is over the read budget, parked or not.
    refused = await limited.get("/api/changes", params={"since": 1, "wait": 1}, headers=user.headers)
    assert_problem(refused, 429)
    assert refused.headers["ratelimit-policy"] == '"reads";q=4;w=3600'
    # (SSE and WebSocket opens spend the stream budget: tests/limits/test_streams.py.)


async def test_budgets_with_the_same_limit_count_apart(app_factory: AppFactory, user: User) -> None:
    client = await app_factory(
        rate_limit_writes="5/hour", rate_limit_reads="5/hour", rate_limit_refusal_delay_seconds=0
    )
    for _ in range(5):
        assert (await client.get("/api/tasks", headers=user.headers)).status_code == 200
    assert_problem(await client.get("/api/tasks", headers=user.headers), 429)
    # Five reads spent the reads, not the writes that share their limit string.
    created = await client.post("/api/tasks", json={"title": "x"}, headers=user.headers)
    assert created.status_code == 201, created.text


async def test_after_retry_after_the_budget_is_back(app_factory: AppFactory, user: User) -> None:
    client = await app_factory(rate_limit_writes="2/2 seconds", rate_limit_refusal_delay_seconds=0)
    await window_start(2)  # the three creates in one window of the budget
    for _ in range(2):
        assert (await client.post("/api/tasks", json={"title": "x"}, headers=user.headers)).status_code == 201
    refused = await client.post("/api/tasks", json={"title": "x"}, headers=user.headers)
    assert refused.status_code == 429
    # Doing what the header says is the behaviour under test: wait that long, then retry.
    await asyncio.sleep(int(refused.headers["retry-after"]))
    again = await client.post("/api/tasks", json={"title": "after"}, headers=user.headers)
    assert again.status_code == 201, again.headers
    assert len(await list_ids(client, user)) == 3


async def test_browsers_can_read_the_limit_headers(limited: httpx.AsyncClient, user: User) -> None:
    response = await limited.get("/api/tasks", headers={**user.headers, "Origin": "http://app.example"})
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"ratelimit", "ratelimit-policy", "retry-after"} <= exposed


async def test_unauthenticated_requests_spend_nobodys_budget(limited: httpx.AsyncClient, user: User) -> None:
    for _ in range(10):
        assert_problem(await limited.get("/api/tasks", headers={"Authorization": "Bearer nope"}), 401)
    assert (await limited.get("/api/tasks", headers=user.headers)).status_code == 200


async def test_a_client_retrying_in_a_loop_is_held_back(app_factory: AppFactory, user: User) -> None:
    # Refusals are answered after the delay: a tight retry loop (what floods a server's
    # CPU, however cheap each refusal) turns into one request per delay per connection.
    client = await app_factory(rate_limit_writes="1/hour", rate_limit_refusal_delay_seconds=0.5)
    assert (await client.post("/api/tasks", json={"title": "one"}, headers=user.headers)).status_code == 201
    sent = 0

    async def retry_loop(until: float) -> None:
        nonlocal sent
        while asyncio.get_running_loop().time() < until:
            response = await client.post("/api/tasks", json={"title": "again"}, headers=user.headers)
            assert response.status_code == 429
            sent += 1

    until = asyncio.get_running_loop().time() + 2.0
    await asyncio.gather(*(retry_loop(until) for _ in range(4)))
    # Four connections for two seconds at one request per half second, and each loop's last.
    assert 4 <= sent <= 4 * (2.0 / 0.5 + 1)
    assert len(await list_ids(client, user)) == 1


async def test_refusals_made_together_are_answered_apart(app_factory: AppFactory, user: User) -> None:
    client = await app_factory(rate_limit_writes="1/hour", rate_limit_refusal_delay_seconds=1.0)
    assert (await client.post("/api/tasks", json={"title": "one"}, headers=user.headers)).status_code == 201
    started = asyncio.get_running_loop().time()

    async def answered_after() -> float:
        response = await client.post("/api/tasks", json={"title": "again"}, headers=user.headers)
        assert response.status_code == 429
        return asyncio.get_running_loop().time() - started

    after = await asyncio.gather(*(answered_after() for _ in range(12)))
    assert min(after) >= 1.0, after
    # Twelve refusals of one moment, each held between the delay and half as long again:
    # all within 0.15 s of each other would happen by chance about once in 60,000 runs
    # (the user's requests reach their refusal one after another, but milliseconds apart).
    assert max(after) - min(after) >= 0.15, after
