"""One client's live feed (`Stream`) as a state machine: live events in order with no
gap and no duplicate, a gap filled from the log, a burst bigger than the buffer read
back from the log, a reader too slow for too long told to resume (overflow), a log
pruned under it told to refetch (resync), and a process that lost its listener ending
its streams (lost). The log is a real one, on SQLite in a temporary directory."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.db.database import Database
from server.db.migrate import migrate
from server.db.open import open_database
from server.db.tables import events as event_rows
from server.realtime.log import next_seq, record_event
from server.realtime.stream import NeedsRead, Resync, Stream, StreamLost, StreamOverflow
from server.settings import Settings

pytestmark = pytest.mark.unit

# Long enough never to run out in a test that reads back in time; tests of a slow
# reader set their own.
PATIENT = 30.0


@pytest.fixture(scope="module")
async def db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    path: Path = tmp_path_factory.mktemp("stream") / "log.db"
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{path}")
    await migrate(settings)
    database = await open_database(settings, None)
    yield database
    await database.dispose()


@pytest.fixture
def user() -> str:
    return f"stream-{uuid.uuid4().hex[:8]}"


async def write(db: Database, user: str, n: int) -> list[tuple[int, str]]:
    """`n` events in the user's log, as writes record them; their (seq, body)."""
    written = []
    for _ in range(n):
        async with db.transaction() as tx:
            seq = await next_seq(tx, user)
            body = await record_event(tx, user, seq, "task.created", {"id": str(uuid.uuid4())}, None)
        written.append((seq, body))
    return written


def open_stream(
    db: Database,
    user: str,
    *,
    after: int = 0,
    head: int = 0,
    resync: bool = False,
    capacity: int = 100,
    max_bytes: int = 1 << 20,
    lag_seconds: float = PATIENT,
) -> Stream:
    return Stream(db, user, capacity, lag_seconds, after, head, resync, max_bytes=max_bytes)


async def drain(stream: Stream) -> list[tuple[int, str] | Resync]:
    """Everything the stream has now, reading the log where it must."""
    items = []
    while (item := await stream.take()) is not None:
        items.append(item)
    return items


def offer(stream: Stream, events: list[tuple[int, str]]) -> None:
    for seq, body in events:
        stream.offer(seq, body, len(body.encode()))


async def test_live_events_come_in_order_and_an_idle_stream_has_nothing(db: Database, user: str) -> None:
    events = await write(db, user, 3)
    stream = open_stream(db, user)
    woken: list[int] = []
    stream.on_ready = lambda: woken.append(1)
    assert stream.take_nowait() is None
    offer(stream, events)
    assert len(woken) == 3  # a socket's reader is told of each offer
    assert [stream.take_nowait() for _ in range(3)] == events
    assert stream.take_nowait() is None
    stream.close()


async def test_an_event_offered_twice_or_already_seen_is_not_given_again(db: Database, user: str) -> None:
    events = await write(db, user, 3)
    # The client resumed after seq 2: the notification of 2 (racing the open) is old news.
    stream = open_stream(db, user, after=2, head=2)
    offer(stream, [events[1], events[2], events[2]])
    assert await drain(stream) == [events[2]]
    assert stream.hello_seq == 2
    stream.close()


async def test_a_resuming_client_is_replayed_the_log_then_goes_live_without_a_seam(
    db: Database, user: str
) -> None:
    events = await write(db, user, 5)
    # Opened when the head was 4; event 5 committed meanwhile and arrives live.
    stream = open_stream(db, user, after=1, head=4)
    offer(stream, [events[4]])
    assert stream.take_nowait() is NeedsRead.LOG
    assert await drain(stream) == events[1:]
    stream.close()


async def test_a_gap_in_the_live_events_is_filled_from_the_log(db: Database, user: str) -> None:
    events = await write(db, user, 4)
    stream = open_stream(db, user, after=1, head=1)
    # The notifications of 2 and 3 never came (a lost publish): 4 arrives alone.
    offer(stream, [events[3]])
    assert stream.take_nowait() is NeedsRead.LOG
    assert await drain(stream) == events[1:]
    stream.close()


async def test_a_client_without_a_resumable_seq_is_told_to_refetch_first(db: Database, user: str) -> None:
    events = await write(db, user, 2)
    head = events[-1][0]
    stream = open_stream(db, user, after=0, head=head, resync=True)
    assert stream.hello_seq == head
    more = await write(db, user, 1)
    offer(stream, more)
    assert await drain(stream) == [Resync(head), *more]
    stream.close()


async def test_a_burst_bigger_than_the_buffer_is_read_back_from_the_log(db: Database, user: str) -> None:
    events = await write(db, user, 12)
    stream = open_stream(db, user, capacity=4)
    offer(stream, events)  # the buffer holds 4: the rest is left in the log
    assert await drain(stream) == events
    # Caught up: live again, from the buffer.
    more = await write(db, user, 2)
    offer(stream, more)
    assert stream.take_nowait() == more[0]
    assert not stream.overflowed
    stream.close()


async def test_the_buffer_is_bounded_in_bytes_too(db: Database, user: str) -> None:
    written = await write(db, user, 6)
    size = len(written[0][1].encode())
    stream = open_stream(db, user, max_bytes=size * 2)
    offer(stream, written)
    assert stream.take_nowait() is NeedsRead.LOG  # only two fitted: the rest is read back
    assert await drain(stream) == written
    stream.close()


async def test_events_bigger_than_the_byte_bound_still_come_one_by_one(db: Database, user: str) -> None:
    written = await write(db, user, 3)
    stream = open_stream(db, user, after=0, head=3, max_bytes=10)
    assert await drain(stream) == written
    stream.close()


async def test_a_reader_that_stays_behind_past_the_lag_allowance_overflows(db: Database, user: str) -> None:
    events = await write(db, user, 5)
    stream = open_stream(db, user, capacity=2, lag_seconds=0.05)
    told = asyncio.Event()
    stream.on_overflow = told.set
    offer(stream, events)
    await asyncio.wait_for(told.wait(), timeout=5)
    assert stream.overflowed
    with pytest.raises(StreamOverflow):
        await drain(stream)
    offer(stream, await write(db, user, 1))  # an overflowed stream takes nothing more
    with pytest.raises(StreamOverflow):
        stream.take_nowait()
    stream.close()


async def test_a_reader_that_catches_up_in_time_never_overflows(db: Database, user: str) -> None:
    events = await write(db, user, 5)
    stream = open_stream(db, user, capacity=2, lag_seconds=0.2)
    stream.on_overflow = lambda: pytest.fail("a reader that caught up was told it overflowed")
    offer(stream, events)
    assert await drain(stream) == events
    await asyncio.sleep(0.3)  # past the allowance: the timer was stopped when it caught up
    assert not stream.overflowed
    stream.close()


async def test_closing_a_lagging_stream_stops_its_overflow_timer(db: Database, user: str) -> None:
    events = await write(db, user, 5)
    stream = open_stream(db, user, capacity=2, lag_seconds=0.05)
    offer(stream, events)
    stream.close()
    await asyncio.sleep(0.15)
    assert not stream.overflowed


async def test_a_log_pruned_under_a_reader_makes_it_refetch(db: Database, user: str) -> None:
    # Events 1-3 are gone from the log (retention), yet the client is at 0.
    await write(db, user, 4)
    async with db.transaction() as tx:
        await tx.conn.execute(sa.delete(event_rows).where(event_rows.c.user_id == user, event_rows.c.seq < 4))
    stream = open_stream(db, user, after=0, head=4)
    assert await drain(stream) == [Resync(4)]
    more = await write(db, user, 1)
    offer(stream, more)
    assert await drain(stream) == more
    stream.close()


async def test_a_stream_of_a_process_that_lost_its_listener_ends(db: Database, user: str) -> None:
    stream = open_stream(db, user)
    reader = asyncio.create_task(stream.next())
    await asyncio.sleep(0)
    stream.abandon()
    with pytest.raises(StreamLost):
        await asyncio.wait_for(reader, timeout=5)
    with pytest.raises(StreamLost):
        stream.take_nowait()


async def test_a_waiting_reader_cancelled_by_a_timeout_loses_nothing(db: Database, user: str) -> None:
    stream = open_stream(db, user)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(stream.next(), timeout=0.05)  # a long-poll's wait ran out
    events = await write(db, user, 2)
    offer(stream, events)
    assert [await stream.next(), await stream.next()] == events
    stream.close()


async def test_a_reader_waiting_in_next_is_woken_by_an_offer(db: Database, user: str) -> None:
    stream = open_stream(db, user)
    reader = asyncio.create_task(stream.next())
    await asyncio.sleep(0)
    assert not reader.done()
    (event,) = await write(db, user, 1)
    offer(stream, [event])
    assert await asyncio.wait_for(reader, timeout=5) == event
    stream.close()
