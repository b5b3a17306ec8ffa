"""`start_eagerly` (server/runtime/eager.py): the part before the first suspension runs in the
caller; the rest behaves as in a task of its own, for results, exceptions and
cancellation, before and after the task's first step."""

from __future__ import annotations

import asyncio

import pytest

from server.runtime.eager import start_eagerly


async def test_a_coroutine_that_never_suspends_runs_in_the_caller_without_a_task() -> None:
    ran: list[asyncio.Task[object] | None] = []

    async def send() -> None:
        ran.append(asyncio.current_task())

    assert start_eagerly(send()) is None
    assert ran == [asyncio.current_task()]


async def test_an_exception_before_the_first_suspension_reaches_the_caller() -> None:
    async def send() -> None:
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError, match="gone"):
        start_eagerly(send())


async def test_after_a_suspension_the_rest_runs_in_the_named_task() -> None:
    gate = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def send() -> None:
        steps.append("before")
        steps.append(await gate)
        steps.append("after")
        await asyncio.sleep(0)  # later suspensions, of either kind, too
        await asyncio.sleep(0.001)
        steps.append(asyncio.current_task().get_name())  # type: ignore[union-attr]

    task = start_eagerly(send(), name="ws-send")
    assert task is not None and steps == ["before"]
    gate.set_result("resumed")
    await asyncio.wait_for(task, 5)
    assert steps == ["before", "resumed", "after", "ws-send"]


async def test_a_bare_yield_is_resumed_on_a_later_loop_pass() -> None:
    steps: list[str] = []

    async def send() -> None:
        await asyncio.sleep(0)  # yields None, not a future
        steps.append("resumed")

    task = start_eagerly(send())
    assert task is not None and steps == []
    await asyncio.wait_for(task, 5)
    assert steps == ["resumed"]


async def test_the_awaited_futures_exception_is_raised_where_it_waits() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    caught: list[BaseException] = []

    async def send() -> None:
        try:
            await gate
        except OSError as exc:
            caught.append(exc)
            raise RuntimeError("after") from exc

    task = start_eagerly(send())
    assert task is not None
    gate.set_exception(OSError("paused transport lost"))
    with pytest.raises(RuntimeError, match="after"):
        await asyncio.wait_for(task, 5)
    assert [str(exc) for exc in caught] == ["paused transport lost"]


@pytest.mark.parametrize("before_first_step", [True, False])
async def test_cancelling_the_task_cancels_the_coroutine_where_it_waits(before_first_step: bool) -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def send() -> None:
        try:
            await gate
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        finally:
            seen.append("finally")

    task = start_eagerly(send())
    assert task is not None
    if not before_first_step:
        await asyncio.sleep(0)  # the task has run its first step: it waits on `gate`
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert seen == ["cancelled", "finally"]
    assert gate.cancelled()  # as a task cancels the future it waits on


@pytest.mark.parametrize("before_first_step", [True, False])
async def test_a_coroutine_may_handle_its_cancellation_and_finish(before_first_step: bool) -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def send() -> None:
        try:
            await gate
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
            await asyncio.sleep(0)  # and it may suspend again afterwards

    task = start_eagerly(send())
    assert task is not None
    if not before_first_step:
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait_for(task, 5)
    assert not task.cancelled() and task.exception() is None
