"""`LiveTasks`: a mirror of the user's tasks that stays in sync, whatever the network does."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Mapping
from contextlib import aclosing
from types import MappingProxyType, TracebackType

from tasksync_client.backoff import Backoff
from tasksync_client.changes import Change, ChangeFeed
from tasksync_client.errors import TasksyncError, is_auth_failure, is_retryable
from tasksync_client.models import ChangeEvent, Snapshot, Task
from tasksync_client.rest import MAX_PAGE, TasksyncClient
from tasksync_client.streams import TRANSPORTS, Hello, Resync, Transport, open_stream

log = logging.getLogger("tasksync_client")

# A session that ends sooner than this counts as a failed attempt even if it was
# accepted, so a server or proxy that accepts and drops at once is retried with backoff.
STABLE_SECONDS = 2.0


class LiveTasks:
    """A live mirror of the signed-in user's tasks.

    ```python
    async with TasksyncClient("http://127.0.0.1:8000", token) as client:
        async with LiveTasks(client) as live:          # snapshot loaded, stream following
            print(len(live.tasks), "tasks at seq", live.seq)
            async for change in live.changes():
                print(change.type, change.task_id, "(mine)" if change.own else "")
    ```

    It loads every task and the snapshot's `seq`, subscribes with `since=seq` and
    applies each event once, in order. When the connection drops it reconnects with
    backoff and resumes from its last `seq`; on a `resync` it refetches the tasks. It
    renews the token through the client's provider before `exp`. `transport` is `"ws"`
    (WebSocket), `"sse"` (server-sent events) or `"poll"` (long-polling the changes
    feed, for networks that block both).

    A failure that retrying cannot cure (a refused token with no provider, or one the
    provider cannot replace; a forbidden origin; a protocol violation) stops the
    mirror: it is raised from `changes()` iterators, `wait_until()` and `closed`.

    Read-only state: `tasks` (id → `Task`), `seq` (the last change applied),
    `connected` (a subscription is open now), `connections` (subscriptions opened so
    far) and `error` (what stopped the mirror, if anything).
    """

    def __init__(
        self,
        client: TasksyncClient,
        *,
        transport: Transport = "ws",
        backoff: Backoff | None = None,
        page_size: int = MAX_PAGE,
        poll_wait: float = 25.0,
        max_auth_failures: int = 3,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; choose one of {TRANSPORTS}")
        self.client = client
        self.transport: Transport = transport
        self.backoff = backoff or Backoff()
        self.page_size = page_size
        self.poll_wait = poll_wait
        self.max_auth_failures = max_auth_failures
        self.seq = 0
        self.connected = False
        self.connections = 0
        self.error: BaseException | None = None
        self._tasks: dict[str, Task] = {}
        # Feeds nobody holds any more drop out by themselves.
        self._feeds: weakref.WeakSet[ChangeFeed] = weakref.WeakSet()
        self._changed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._closed: asyncio.Future[None] | None = None

    @property
    def tasks(self) -> Mapping[str, Task]:
        """The mirrored tasks by id (a read-only view that follows the mirror)."""
        return MappingProxyType(self._tasks)

    @property
    def closed(self) -> asyncio.Future[None]:
        """Done when the mirror stops: a result after `aclose()`, the error if it failed."""
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_future()
            # The error is also raised to iterators and waiters; do not log it twice.
            self._closed.add_done_callback(lambda f: f.cancelled() or f.exception())
        return self._closed

    async def start(self) -> None:
        """Load the snapshot (its errors are raised here) and start following changes."""
        if self._runner is not None:
            raise RuntimeError("this mirror was already started")
        self._load(await self.client.snapshot(page_size=self.page_size))
        self._runner = asyncio.create_task(self._run(), name="tasksync-live")

    async def aclose(self) -> None:
        if self._runner is not None and not self._runner.done():
            self._runner.cancel()
            try:
                await self._runner
            except asyncio.CancelledError:
                pass
        self._stop(None)

    async def __aenter__(self) -> LiveTasks:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def changes(self) -> ChangeFeed:
        """An async iterator of every change applied from now on (and of resyncs)."""
        feed = ChangeFeed()
        if self.closed.done():
            feed.end(self.error)
        else:
            self._feeds.add(feed)
        return feed

    # A deadline belongs to waiting for a condition, as in `asyncio.wait_for`.
    async def wait_until(
        self,
        predicate: Callable[[LiveTasks], bool],
        timeout: float | None = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Return once `predicate(self)` holds; `TimeoutError` after `timeout` seconds.

        `await live.wait_until(lambda m: task.id in m.tasks, timeout=5)`
        """
        async with asyncio.timeout(timeout):
            while not predicate(self):
                if self.error is not None:
                    raise self.error
                if self.closed.done():
                    raise RuntimeError("the mirror is closed")
                changed = self._changed
                await changed.wait()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0  # sessions in a row that failed or ended early
        auth_failures = 0
        while True:
            opened, started = self.connections, loop.time()
            error: TasksyncError | None = None
            try:
                await self._follow()
            except TasksyncError as exc:
                error = exc
            except Exception as exc:  # a bug or an answer outside the contract: stop, loudly
                self._stop(exc)
                return
            finally:
                self._set_connected(False)
            if self.connections > opened and loop.time() - started >= STABLE_SECONDS:
                attempt = auth_failures = 0
            if error is not None and is_auth_failure(error) and self.client.credentials.renewable:
                auth_failures += 1
                if auth_failures > self.max_auth_failures:
                    self._stop(error)
                    return
                await self._renew_token()
            elif error is not None and not is_retryable(error):
                self._stop(error)
                return
            # A stream the server ended (at token expiry, or for a resync) is followed up at
            # once; after a failure, or an early end, the backoff's jitter spreads the
            # reconnects of all the clients a restarting server has just closed.
            delay = 0.0 if error is None and attempt == 0 else self.backoff.delay(attempt)
            attempt += 1
            if error is not None:
                log.info("live %s stream: %s; reconnecting in %.2fs", self.transport, error, delay)
            await asyncio.sleep(delay)

    async def _follow(self) -> None:
        """One subscription from `self.seq`, until it fails or must be renewed."""
        stream = open_stream(self.transport, self.client, self.seq, poll_wait=self.poll_wait)
        async with aclosing(stream):
            async for item in stream:
                if isinstance(item, Hello):
                    self.connections += 1
                    self._set_connected(True)
                elif isinstance(item, Resync):
                    await self._resync()
                    return
                elif item.seq > self.seq + 1:
                    # Never expected from a server keeping the contract; the log fills it.
                    log.warning("gap after seq %d (got %d); resubscribing", self.seq, item.seq)
                    return
                elif item.seq == self.seq + 1:
                    self._apply(item)

    async def _renew_token(self) -> None:
        credentials = self.client.credentials
        try:
            await credentials.renew(credentials.current or "")
        except TasksyncError as exc:
            log.warning("token renewal failed: %s", exc)

    async def _resync(self) -> None:
        snapshot = await self.client.snapshot(page_size=self.page_size)
        self._load(snapshot)
        self._publish(Change.resync(snapshot.seq))

    def _load(self, snapshot: Snapshot) -> None:
        self._tasks.clear()
        self._tasks.update((task.id, task) for task in snapshot.tasks)
        self.seq = snapshot.seq

    def _apply(self, event: ChangeEvent) -> None:
        previous = self._tasks.get(event.task_id)
        task = event.task
        if isinstance(task, Task):
            # A task read from a later page of the snapshot may be newer than this event.
            if previous is None or previous.version <= task.version:
                self._tasks[task.id] = task
        elif previous is not None and previous.version <= task.version:
            del self._tasks[task.id]
        self.seq = event.seq
        self._publish(
            Change.from_event(event, previous, self._tasks.get(event.task_id), self.client.client_id)
        )

    def _publish(self, change: Change) -> None:
        for feed in list(self._feeds):
            feed.put(change)
        self._notify()

    def _set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _stop(self, error: BaseException | None) -> None:
        if self.closed.done():
            return
        if error is not None:
            log.error("live %s mirror stopped: %r", self.transport, error)
            self.error = error
            self.closed.set_exception(error)
        else:
            self.closed.set_result(None)
        for feed in list(self._feeds):
            feed.end(error)
        self._feeds.clear()
        self._notify()
