"""`TaskMirror`: the user's tasks as the server has told them, and as the user sees them.

`confirmed` follows the server: snapshots, events in `seq` order, tasks learnt from
write answers (never older than what it holds). `tasks` is that with the outbox's
writes applied on top, task by task. Every change the server makes known is written
through to the `LocalStore` (when there is one) before it shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasksync_client.changes import Change
from tasksync_client.conflicts import Conflict, Dropped
from tasksync_client.errors import NotFound, PreconditionFailed
from tasksync_client.models import ChangeEvent, Snapshot, Task
from tasksync_client.outbox import Answer, Outbox, QueuedWrite
from tasksync_client.storage import Stored
from tasksync_client.writes import WriteResult

if TYPE_CHECKING:
    from tasksync_client.live import LiveTasks


class TaskMirror:
    def __init__(self, outbox: Outbox, client_id: str) -> None:
        self.outbox = outbox
        self.seq = 0
        self.confirmed: dict[str, Task] = {}
        self.tasks: dict[str, Task] = {}
        # The X-Client-Id of every write of ours: their echoes are `own` changes.
        self.origins = {client_id}

    async def restore(self, stored: Stored) -> bool:
        """Take the stored outbox, and the stored mirror if there is one (True then)."""
        self.outbox.load(QueuedWrite.from_json(data) for data in stored.writes)
        self.origins.update(w.request.client_id for w in self.outbox.writes if w.request.client_id)
        if stored.tasks is None:
            return False
        self.confirmed = {task.id: task for task in stored.tasks}
        self.seq = stored.seq
        # A process stopped between storing an echo and forgetting its write leaves it.
        await self.outbox.settle(self.seq)
        self.show_all()
        return True

    async def load(self, snapshot: Snapshot) -> None:
        if self.outbox.store is not None:
            await self.outbox.store.save_snapshot(snapshot.tasks, snapshot.seq)
        self.confirmed = {task.id: task for task in snapshot.tasks}
        self.seq = snapshot.seq
        # A snapshot read after a write's answer shows that write; one answered while it
        # was read has its event still to come; one answered by another database (after
        # a failover) is gone. No answered write is needed on top of it.
        await self.outbox.remove(write for write in self.outbox.writes if write.accepted)
        self.show_all()

    async def apply(self, event: ChangeEvent) -> Change:
        previous = self.tasks.get(event.task_id)
        known = self.confirmed.get(event.task_id)
        task = event.task
        if isinstance(task, Task):
            # A task read from a later page of the snapshot (or from a write's answer)
            # may be newer than this event.
            if known is None or known.version <= task.version:
                self.confirmed[task.id] = task
        elif known is not None and known.version <= task.version:
            del self.confirmed[task.id]
        if self.outbox.store is not None:
            await self.outbox.store.save_task(event.task_id, self.confirmed.get(event.task_id), event.seq)
        self.seq = event.seq
        for task_id in {event.task_id, *await self.outbox.settle(self.seq)}:
            self.show(task_id)
        own = event.origin is not None and event.origin in self.origins
        return Change.from_event(event, previous, self.tasks.get(event.task_id), own)

    async def queue(self, write: QueuedWrite) -> Task | None:
        """Queue a write (on disk first) and show it; the task as it looks now."""
        await self.outbox.add(write)
        self.show(write.task_id)
        return self.tasks.get(write.task_id)

    async def answered(self, write: QueuedWrite, answer: Answer, live: LiveTasks) -> list[Conflict | Dropped]:
        """The server took `write`, or refused it for good; what to tell the app."""
        reports: list[Conflict | Dropped] = []
        if isinstance(answer, WriteResult):
            if answer.seq is None or answer.seq <= self.seq:
                await self.outbox.remove([write])  # its echo has been applied already
            else:
                await self.outbox.accept(write, answer)  # shown as answered until its echo
                # Its echo may have been applied while the answer was being stored.
                for task_id in await self.outbox.settle(self.seq):
                    self.show(task_id)
        elif isinstance(answer, PreconditionFailed | NotFound):
            # The writes queued after it on that task were made on what the user saw
            # then, which the server has moved past: they are refused with it.
            refused = [write, *self.outbox.later_for_task(write)]
            await self.outbox.remove(refused)
            if isinstance(answer, PreconditionFailed):
                if answer.current is not None:
                    await self.learn(answer.current)
                reports.extend(Conflict(each, answer.current, answer, live) for each in refused)
            else:
                reports.extend(Dropped(each, "missing", answer) for each in refused)
        else:
            await self.outbox.rebase_after(write)
            await self.outbox.remove([write])
            reports.append(Dropped(write, "rejected", answer))
        self.show(write.task_id)
        return reports

    async def learn(self, task: Task) -> None:
        """A task as the server has it now, told by a write's answer before its event."""
        known = self.confirmed.get(task.id)
        if known is None or known.version < task.version:
            self.confirmed[task.id] = task
            if self.outbox.store is not None:
                await self.outbox.store.save_task(task.id, task)

    def show(self, task_id: str) -> None:
        task = self.confirmed.get(task_id)
        for write in self.outbox.for_task(task_id):
            task = write.applied_to(task)
        if task is None:
            self.tasks.pop(task_id, None)
        else:
            self.tasks[task_id] = task

    def show_all(self) -> None:
        self.tasks.clear()
        self.tasks.update(self.confirmed)
        for task_id in {write.task_id for write in self.outbox.writes}:
            self.show(task_id)

    def clear(self) -> None:
        self.outbox.load([])
        self.confirmed.clear()
        self.tasks.clear()
        self.seq = 0
