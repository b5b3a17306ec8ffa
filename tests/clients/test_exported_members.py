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
