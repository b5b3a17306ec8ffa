"""`LiveTasks`: a mirror of the user's tasks that stays in sync, whatever the network does."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import weakref
from collections.abc import Callable, Mapping
from contextlib import aclosing
from types import MappingProxyType, TracebackType

from tasksync_client.auth import token_claims
from tasksync_client.backoff import Backoff
from tasksync_client.changes import Change, ChangeFeed
from tasksync_client.conflicts import Conflict, Dropped
from tasksync_client.errors import StoreClosedError, TasksyncError, is_auth_failure, is_retryable, server_wait
from tasksync_client.live_writes import LiveWrites
from tasksync_client.mirror import TaskMirror
from tasksync_client.models import Task
from tasksync_client.outbox import Answer, Outbox, QueuedWrite
from tasksync_client.rest import MAX_PAGE, TasksyncClient
from tasksync_client.storage import LocalStore, Quarantined
from tasksync_client.streams import TRANSPORTS, Hello, Resync, Transport, open_stream

log = logging.getLogger("tasksync_client")

# A session that ends sooner than this counts as a failed attempt even if it was
# accepted, so a server or proxy that accepts and drops at once is retried with backoff.
STABLE_SECONDS = 2.0


class LiveTasks(LiveWrites):
    """A live mirror of the signed-in user's tasks, and the writes made through it.

    ```python
    async with TasksyncClient("http://127.0.0.1:8000", token) as client:
        async with LiveTasks(client, store="tasks.sqlite") as live:   # shown at once
            task = await live.create("Buy milk")        # in live.tasks now, even offline
            await live.complete(task.id)
            await live.flushed()                        # the server has them
            async for change in live.changes():
                print(change.type, change.task_id, "(mine)" if change.own else "")
    ```

    It loads every task and the snapshot's `seq`, subscribes with `since=seq` and
    applies each event once, in order. When the connection drops it reconnects with
    backoff and resumes from its last `seq`; on a `resync` it refetches the tasks. It
    renews the token through the client's provider before `exp`. `transport` is `"ws"`
    (WebSocket), `"sse"` (server-sent events) or `"poll"` (long-polling the changes
    feed, for networks that block both).

    Writes (`create`, `update`, `replace`, `complete`, `delete`) apply to
    `tasks` at once and wait in an outbox (`pending`) until the server has them: sent
    in order, again with the same `Idempotency-Key` until an answer arrives, so each
    applies exactly once. The model is docs/sync-model.md: an edit sends only the
    fields it changes, each tested against the value shown when it was made, so edits
    of different fields on different devices merge. A field another device changed to
    something else meanwhile becomes a `Conflict` (`on_conflict`, listed in
    `conflicts` until `keep_theirs` or `use_mine`; the task shows the server's value
    meanwhile), as does a `delete` of a task changed elsewhere. A write whose task is
    gone or that the server refuses is `Dropped` (`on_dropped`). A write through a
    mirror that is not started, closed or signed out raises `StoreClosedError`.

    With `store` (a file path) the mirror and the outbox live in that SQLite file, per
    API origin and user: a new process with the same file shows the stored tasks at
    once, even offline, resumes from the stored `seq` and sends what is still queued.
    `sign_out()` forgets them. A second `LiveTasks` on the same file and user (here or
    in another process) cannot start while this one runs: `StoreLockedError`. What the
    file held that could not be read is set aside, not fatal: `quarantined` lists it.

    A failure that retrying cannot cure (a refused token with no provider, or one the
    provider cannot replace; a forbidden origin; a protocol violation) stops the
    mirror: it is raised from `changes()` iterators, `wait_until()` and `closed`.

    Read-only state: `tasks` (id → `Task`, pending writes applied), `seq` (the last
    change applied), `pending` (the writes not yet taken by the server), `conflicts`
    (the open ones, oldest first), `connected`
    (a subscription is open now), `connections` (subscriptions opened so far) and
    `error` (what stopped the mirror, if anything), `quarantined` (what `start()` found
    damaged in the store and set aside).
    """

    def __init__(
        self,
        client: TasksyncClient,
        *,
        transport: Transport = "ws",
        store: str | os.PathLike[str] | None = None,
        on_conflict: Callable[[Conflict], object] | None = None,
        on_dropped: Callable[[Dropped], object] | None = None,
        backoff: Backoff | None = None,
        page_size: int = MAX_PAGE,
        poll_wait: float = 25.0,
        max_auth_failures: int = 3,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"unknown transport {transport!r}; choose one of {TRANSPORTS}")
        self.client = client
        self.transport: Transport = transport
        self.store_path = store
        self.on_conflict = on_conflict
        self.on_dropped = on_dropped
        self.backoff = backoff or Backoff()
        self.page_size = page_size
        self.poll_wait = poll_wait
        self.max_auth_failures = max_auth_failures
        self.connected = False
        self.connections = 0
        self.error: BaseException | None = None
        self.quarantined: tuple[Quarantined, ...] = ()
        self.outbox = Outbox()
        self.mirror = TaskMirror(self.outbox, client.client_id)
        # Feeds nobody holds any more drop out by themselves.
        self._feeds: weakref.WeakSet[ChangeFeed] = weakref.WeakSet()
        self._changed = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self._closed: asyncio.Future[None] | None = None

    @property
    def tasks(self) -> Mapping[str, Task]:
        """The mirrored tasks by id, pending writes applied (a read-only view that follows
        the mirror)."""
        return MappingProxyType(self.mirror.tasks)

    @property
    def seq(self) -> int:
        """The seq of the last change applied (from the server's log)."""
        return self.mirror.seq

    @property
    def pending(self) -> tuple[QueuedWrite, ...]:
        """The writes the server has not taken yet, oldest first."""
        return tuple(write for write in self.outbox.writes if not write.accepted)

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        """The conflicts the user has not settled yet, oldest first; each one's `server`
        follows the task as the server has it now."""
        return tuple(self.mirror.conflicts.values())

    def is_pending(self, task: str | Task) -> bool:
        """Whether a write to this task is still waiting for the server."""
        task_id = task.id if isinstance(task, Task) else task
        return any(write.task_id == task_id for write in self.pending)

    def _check_open(self) -> None:
        if self._runner is None or self.closed.done():
            raise StoreClosedError("this LiveTasks is not running (never started, closed, or signed out)")

    @property
    def closed(self) -> asyncio.Future[None]:
        """Done when the mirror stops: a result after `aclose()`, the error if it failed."""
        if self._closed is None:
            self._closed = asyncio.get_running_loop().create_future()
            # The error is also raised to iterators and waiters; do not log it twice.
            self._closed.add_done_callback(lambda f: f.cancelled() or f.exception())
        return self._closed

    async def start(self) -> None:
        """Load the tasks and start following changes and sending the outbox.

        With a `store` that holds this user's mirror, the stored tasks are shown at once
        and no request is needed (the network may be down). Otherwise the snapshot is
        loaded first, and its errors are raised here.
        """
        if self._runner is not None:
            raise RuntimeError("this mirror was already started")
        try:
            if self.store_path is not None:
                store = self.outbox.store = await self._open_store()
                # The rows the mirror cannot take are set aside by the store, the rest kept.
                stored = await store.load(
                    check_write=QueuedWrite.from_json, check_conflict=Conflict.from_json
                )
                self.quarantined = tuple(store.quarantined)
                restored = await self.mirror.restore(stored)
            else:
                restored = False
            if not restored:
                await self.mirror.load(await self.client.snapshot(page_size=self.page_size))
        except BaseException:
            await self._close_store()
            raise
        self._runner = asyncio.create_task(self._run(), name="tasksync-live")
        self._sender = asyncio.create_task(self._send(), name="tasksync-outbox")

    async def aclose(self) -> None:
        """Stop following and sending; what is queued stays in the store for next time."""
        await self._halt()
        await self._close_store()
        self._stop(None)

    async def sign_out(self) -> list[QueuedWrite]:
        """Stop, and forget this user's tasks and outbox, in memory and in the store.

        Returns the writes that were still pending: they are not sent. To sign out
        without losing any, first `await live.flushed()`.
        Works on a mirror that was never started, to clear its store.
        """
        await self._halt()
        discarded = list(self.pending)
        store = self.outbox.store or (await self._open_store() if self.store_path is not None else None)
        if store is not None:
            self.outbox.store = store
            await store.clear()
        self.mirror.clear()
        await self._close_store()
        self._stop(None)
        return discarded

    async def __aenter__(self) -> LiveTasks:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def changes(self) -> ChangeFeed:
        """An async iterator of every change the server sends from now on (and of resyncs)."""
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

    async def flushed(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Return once every queued write is answered and the mirror has seen their events
        (read-your-writes); `TimeoutError` after `timeout` seconds, if given.

        `await live.flushed(); await live.sign_out()`
        """
        await self.wait_until(
            lambda m: not m.outbox.writes and m.seq >= m.client.last_write_seq, timeout=timeout
        )

    async def _send(self) -> None:
        try:
            await self.outbox.run(self.client.write, self._answered, self.backoff)
        except Exception as exc:  # a bug or an answer outside the contract: stop, loudly
            self._stop(exc)

    async def _answered(self, write: QueuedWrite, answer: Answer) -> None:
        reports = await self.mirror.answered(write, answer)
        self._notify()
        for report in reports:
            await self._report(report)

    async def _report(self, report: Conflict | Dropped) -> None:
        if isinstance(report, Conflict):
            log.info("outbox: conflict %s (theirs %r, mine %r)", report.key, report.server, report.wanted)
        else:
            log.info("outbox: %s %s dropped: %s", report.operation, report.task_id, report.error)
        try:
            if isinstance(report, Conflict):
                result = self.on_conflict(report) if self.on_conflict is not None else None
            else:
                result = self.on_dropped(report) if self.on_dropped is not None else None
            if inspect.isawaitable(result):
                await result
        except Exception:  # the app's callback must not stop the outbox
            log.exception("the %s callback raised", type(report).__name__)

    # ---- the store -------------------------------------------------------------------

    async def _open_store(self) -> LocalStore:
        assert self.store_path is not None
        token = await self.client.credentials.token()
        subject = token_claims(token).get("sub")
        # One file may serve several users and servers; each sees only its own rows.
        scope = f"{str(self.client.base_url).rstrip('/')}#{subject if isinstance(subject, str) else ''}"
        return await LocalStore.open(self.store_path, scope)

    async def _close_store(self) -> None:
        if self.outbox.store is not None:
            await self.outbox.store.close()
            self.outbox.store = None

    # ---- following the server ----------------------------------------------------------

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
            wait = server_wait(error) if error is not None else None
            if wait is not None:
                # Never sooner than the server said; the jitter on top keeps a fleet of
                # clients refused at once from all coming back at once.
                delay = wait + self.backoff.delay(attempt)
            attempt += 1
            if error is not None:
                log.info("live %s stream: %s; reconnecting in %.2fs", self.transport, error, delay)
            await asyncio.sleep(delay)

    async def _follow(self) -> None:
        """One subscription from `self.seq`, until it fails or must be renewed."""
        stream = open_stream(self.transport, self.client, self.mirror.seq, poll_wait=self.poll_wait)
        async with aclosing(stream):
            async for item in stream:
                if isinstance(item, Hello):
                    self.connections += 1
                    self._set_connected(True)
                    self.outbox.wake()  # the server is reachable: send what waits now
                elif isinstance(item, Resync):
                    await self._resync()
                    return
                elif item.seq > self.mirror.seq + 1:
                    # Never expected from a server keeping the contract; the log fills it.
                    log.warning("gap after seq %d (got %d); resubscribing", self.mirror.seq, item.seq)
                    return
                elif item.seq == self.mirror.seq + 1:
                    self._publish(await self.mirror.apply(item))

    async def _renew_token(self) -> None:
        credentials = self.client.credentials
        try:
            await credentials.renew(credentials.current or "")
        except TasksyncError as exc:
            log.warning("token renewal failed: %s", exc)

    async def _resync(self) -> None:
        snapshot = await self.client.snapshot(page_size=self.page_size)
        await self.mirror.load(snapshot)
        self._publish(Change.resync(snapshot.seq))

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

    async def _halt(self) -> None:
        for task in (self._runner, self._sender):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass

    def _stop(self, error: BaseException | None) -> None:
        if self.closed.done():
            return
        for task in (self._runner, self._sender):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
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
