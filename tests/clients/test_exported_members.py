"""The package's public names are exactly its `__all__` (as httpx checks its own)."""

from __future__ import annotations

import types

import tasksync_client


def test_all_public_names_are_exported() -> None:
    public = {
        name
        for name, value in vars(tasksync_client).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(tasksync_client.__all__) == public | {"__version__"}
    assert tasksync_client.__all__ == sorted(tasksync_client.__all__, key=str.casefold)


def test_public_classes_and_functions_are_documented() -> None:
    undocumented = [
        name
        for name in tasksync_client.__all__
        if isinstance(value := getattr(tasksync_client, name), type | types.FunctionType)
        and not (value.__doc__ or "").strip()
    ]
    assert undocumented == []


def test_the_offline_names_are_exported() -> None:
    offline = {
        "Conflict",
        "Dropped",
        "EditConflict",
        "FailedTest",
        "LiveTasks",
        "Quarantined",
        "QueuedWrite",
        "StoreClosedError",
        "StoreLockedError",
        "WriteRequest",
        "WriteResult",
    }
    assert offline <= set(tasksync_client.__all__)
    assert issubclass(tasksync_client.StoreClosedError, tasksync_client.TasksyncError)
    assert issubclass(tasksync_client.StoreLockedError, tasksync_client.TasksyncError)
    assert issubclass(tasksync_client.EditConflict, tasksync_client.ApiError)


# The public members of the two classes an application uses, by the browser client's
# names (clients/js/README.md, "One name per idea"; docs/clients.md, "Names"), and the
# old names kept as deprecated aliases. A new public name is a decision: add it here.
LIVE_TASKS = {
    # the tasks, and the writes not answered yet
    "tasks", "seq", "pending", "is_pending", "conflicts",
    # writes
    "create", "update", "replace", "complete", "delete", "keep_theirs", "use_mine",
    # lifetime
    "start", "aclose", "sign_out", "closed", "changes", "wait_until", "flushed",
    # what it was made with, and what it is doing
    "client", "transport", "store_path", "on_conflict", "on_dropped", "backoff", "page_size",
    "poll_wait", "max_auth_failures", "connected", "connections", "error", "quarantined",
    "outbox", "mirror",
}  # fmt: skip
REST_CLIENT = {
    "list_tasks", "iter_tasks", "snapshot", "get", "changes",
    "create", "replace", "update", "update_fields", "complete", "delete", "write",
    "aclose", "base_url", "client_id", "credentials", "session", "last_write_seq",
}  # fmt: skip
DEPRECATED = {
    tasksync_client.LiveTasks: {"remove": "delete", "toggle": "complete"},
    tasksync_client.TasksyncClient: {
        "patch": "update",
        "patch_fields": "update_fields",
        "toggle": "complete",
    },
}


def public_members(instance: object) -> set[str]:
    names = set(dir(type(instance))) | set(vars(instance))
    return {name for name in names if not name.startswith("_")}


async def test_the_clients_use_one_name_per_idea_and_keep_the_old_ones_as_aliases() -> None:
    async with tasksync_client.TasksyncClient("http://127.0.0.1:9", "token") as client:
        live = tasksync_client.LiveTasks(client)
        assert public_members(client) == REST_CLIENT | set(DEPRECATED[tasksync_client.TasksyncClient])
        assert public_members(live) == LIVE_TASKS | set(DEPRECATED[tasksync_client.LiveTasks])
    for cls, aliases in DEPRECATED.items():
        for old, new in aliases.items():
            doc = getattr(cls, old).__doc__ or ""
            assert doc.startswith("Deprecated:") and f"`{new}" in doc, f"{cls.__name__}.{old}: {doc}"
