"""`TaskMirror`: the user's tasks as the server has told them, and as the user sees them.

`confirmed` follows the server: snapshots, events in `seq` order, tasks learnt from
write answers and from `409`/`412` problems (never older than what it holds). `tasks`
is that with the outbox's writes laid over it, task by task (`merge.overlay`).
`conflicts` are the disagreements the user has not settled; each follows the confirmed
task until it settles by itself. Everything the server makes known, and every
conflict, is written through to the `LocalStore` (when there is one) before it shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tasksync_client import merge
from tasksync_client.changes import Change
from tasksync_client.conflicts import Conflict, Dropped
from tasksync_client.errors import EditConflict, NotFound, PreconditionFailed
from tasksync_client.models import ChangeEvent, Snapshot, Task
from tasksync_client.outbox import Answer, Outbox, QueuedWrite
from tasksync_client.storage import Stored
from tasksync_client.writes import WriteResult

Report = Conflict | Dropped


class TaskMirror:
    def __init__(self, outbox: Outbox, client_id: str) -> None:
        self.outbox = outbox
        self.seq = 0
        self.confirmed: dict[str, Task] = {}
        self.tasks: dict[str, Task] = {}
        self.conflicts: dict[str, Conflict] = {}  # by key, oldest first
        # The X-Client-Id of every write of ours: their echoes are `own` changes.
        self.origins = {client_id}

    async def restore(self, stored: Stored) -> bool:
        """Take the stored outbox and conflicts, and the stored mirror if there is one
        (True then)."""
        self.outbox.load(QueuedWrite.from_json(data) for data in stored.writes)
        self.origins.update(w.client_id for w in self.outbox.writes if w.client_id)
        self.conflicts = {data["key"]: Conflict.from_json(data) for data in stored.conflicts}
        if stored.tasks is None:
            return False
        self.confirmed = {task.id: task for task in stored.tasks}
        self.seq = stored.seq
        # A process stopped between storing an echo and forgetting its write leaves it.
        await self.outbox.settle(self.seq)
        await self._follow({conflict.task_id for conflict in self.conflicts.values()})
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
        await self._follow({conflict.task_id for conflict in self.conflicts.values()})
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
        await self._follow({event.task_id})
        for task_id in {event.task_id, *await self.outbox.settle(self.seq)}:
            self.show(task_id)
        own = event.origin is not None and event.origin in self.origins
        return Change.from_event(event, previous, self.tasks.get(event.task_id), own)

    async def queue(self, write: QueuedWrite) -> Task | None:
        """Queue a write (on disk first) and show it; the task as it looks now."""
        await self.outbox.add(write)
        self.show(write.task_id)
        return self.tasks.get(write.task_id)

    async def answered(self, write: QueuedWrite, answer: Answer) -> list[Report]:
        """The server took `write`, or refused it for good; what to tell the app."""
        later = self.outbox.later_for_task(write)
        reports: list[Report] = []
        if isinstance(answer, WriteResult):
            await self._applied(write, answer, later)
        elif isinstance(answer, EditConflict) and write.operation == "edit":
            reports.extend(await self._conflicted(write, answer, later))
        elif isinstance(answer, PreconditionFailed) and write.operation == "delete":
            # Another device changed the task since this one saw it: the task stays.
            if answer.current is not None:
                await self.learn(answer.current)
            await self.outbox.remove([write])
            seen = Task.model_validate(write.seen) if write.seen else None
            reports.extend(await self.add_conflicts([Conflict.of_delete(write.task_id, seen, None)]))
        elif isinstance(answer, NotFound) and write.operation == "delete":
            await self.outbox.remove([write])  # gone, as asked
            await self.forget(write.task_id)
        elif isinstance(answer, NotFound):
            # Deleted elsewhere: nothing queued for it can apply any more.
            await self.outbox.remove([write, *later])
            await self.forget(write.task_id)
            reports.extend(Dropped(each, "missing", answer) for each in [write, *later])
        elif write.operation == "create":
            if isinstance(answer, PreconditionFailed) and answer.current is not None:
                await self.learn(answer.current)
            await self.outbox.remove([write, *later])  # made on a task that never came to be
            reports.extend(Dropped(each, "rejected", answer) for each in [write, *later])
        else:
            await self.outbox.rewrite({**merge.rebase(write, later), write.key: None})
            reports.append(Dropped(write, "rejected", answer))
        self.show(write.task_id)
        return reports

    async def _applied(self, write: QueuedWrite, result: WriteResult, later: list[QueuedWrite]) -> None:
        if write.operation == "delete":
            await self.forget(write.task_id)
        elif result.task is not None:
            await self.learn(result.task)
        shifted: dict[str, QueuedWrite | None] = {}
        if result.task is not None:
            shifted.update(merge.shift_deletes(later, result.task.version))
        if result.seq is None or result.seq <= self.seq:
            await self.outbox.rewrite({**shifted, write.key: None})  # its echo is applied already
            return
        await self.outbox.accept(write, result)  # shown as answered until its echo
        await self.outbox.rewrite(shifted)
        # Its echo may have been applied while the answer was being stored.
        for task_id in await self.outbox.settle(self.seq):
            self.show(task_id)

    async def _conflicted(
        self, write: QueuedWrite, answer: EditConflict, later: list[QueuedWrite]
    ) -> list[Conflict]:
        current = answer.current
        if current is not None:
            await self.learn(current)
        resolution = merge.resolve_409(write, answer.conflicts, later, current)
        # The conflicts are stored before the fields leave the writes: a process stopped
        # in between sends the write again under its old key and is answered the same.
        reported = await self.add_conflicts(resolution.conflicts)
        await self.outbox.rewrite({**resolution.later, write.key: resolution.resend})
        return reported

    async def add_conflicts(self, conflicts: Iterable[Conflict]) -> list[Conflict]:
        """Open conflicts (one per key: a newer one takes the older one's place); the ones still
        open against the confirmed task, which are to be reported."""
        opened: dict[str, Conflict] = {}
        for conflict in conflicts:
            followed = merge.follow(conflict, self.confirmed.get(conflict.task_id))
            if followed is not None:
                opened[followed.key] = followed
        await self._save_conflicts({key: conflict for key, conflict in opened.items()})
        return list(opened.values())

    async def settle(self, keys: Iterable[str]) -> None:
        """Close these conflicts (the user has chosen)."""
        await self._save_conflicts({key: None for key in keys if key in self.conflicts})

    async def learn(self, task: Task) -> None:
        """A task as the server has it now, told by a write's answer before its event."""
        known = self.confirmed.get(task.id)
        if known is None or known.version < task.version:
            self.confirmed[task.id] = task
            if self.outbox.store is not None:
                await self.outbox.store.save_task(task.id, task)
            await self._follow({task.id})

    async def forget(self, task_id: str) -> None:
        """The task is gone on the server (a write's answer said so before its event)."""
        if self.confirmed.pop(task_id, None) is not None and self.outbox.store is not None:
            await self.outbox.store.save_task(task_id, None)
        await self._follow({task_id})

    async def _follow(self, task_ids: set[str]) -> None:
        changed: dict[str, Conflict | None] = {}
        for key, conflict in self.conflicts.items():
            if conflict.task_id in task_ids:
                followed = merge.follow(conflict, self.confirmed.get(conflict.task_id))
                if followed != conflict:
                    changed[key] = followed
        await self._save_conflicts(changed)

    async def _save_conflicts(self, changed: Mapping[str, Conflict | None]) -> None:
        if not changed:
            return
        if self.outbox.store is not None:
            await self.outbox.store.save_conflicts(
                {key: None if each is None else each.to_json() for key, each in changed.items()}
            )
        for key, conflict in changed.items():
            if conflict is None:
                self.conflicts.pop(key, None)
            else:
                self.conflicts[key] = conflict

    def show(self, task_id: str) -> None:
        task = merge.overlay(self.confirmed.get(task_id), self.outbox.for_task(task_id))
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
        self.conflicts.clear()
        self.tasks.clear()
        self.seq = 0
