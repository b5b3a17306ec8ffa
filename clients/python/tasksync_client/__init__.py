"""An async Python client for Tasksync: the REST API, and a live mirror of your tasks.

```python
from tasksync_client import LiveTasks, TasksyncClient

async with TasksyncClient("http://127.0.0.1:8000", token) as client:
    await client.create("Buy milk")
    async with LiveTasks(client, store="tasks.sqlite") as live:   # works offline too
        await live.create("Buy bread")                           # queued, shown at once
        async for change in live.changes():
            print(change.type, change.task)
```
"""

from tasksync_client._version import __version__
from tasksync_client.auth import Credentials, TokenProvider, token_expiry
from tasksync_client.backoff import Backoff
from tasksync_client.changes import Change, ChangeFeed, ChangeType
from tasksync_client.conflicts import Conflict, Dropped
from tasksync_client.errors import (
    ApiError,
    BadRequest,
    EditConflict,
    FailedTest,
    NotFound,
    PreconditionFailed,
    ProtocolError,
    RateLimited,
    ServerError,
    StoreClosedError,
    StoreLockedError,
    StreamClosed,
    TasksyncError,
    TokenProviderError,
    TransportError,
    Unauthorized,
    ValidationError,
    is_auth_failure,
    is_retryable,
)
from tasksync_client.live import LiveTasks
from tasksync_client.models import (
    ChangeEvent,
    ChangesPage,
    DeletedTask,
    EventType,
    FieldError,
    Problem,
    Snapshot,
    Task,
    TaskPage,
)
from tasksync_client.outbox import QueuedWrite
from tasksync_client.rest import UNSET, TasksyncClient, Unset
from tasksync_client.store_damage import Quarantined
from tasksync_client.streams import Transport
from tasksync_client.writes import WriteRequest, WriteResult

__all__ = [
    "__version__",
    "ApiError",
    "Backoff",
    "BadRequest",
    "Change",
    "ChangeEvent",
    "ChangeFeed",
    "ChangesPage",
    "ChangeType",
    "Conflict",
    "Credentials",
    "DeletedTask",
    "Dropped",
    "EditConflict",
    "EventType",
    "FailedTest",
    "FieldError",
    "is_auth_failure",
    "is_retryable",
    "LiveTasks",
    "NotFound",
    "PreconditionFailed",
    "Problem",
    "ProtocolError",
    "Quarantined",
    "QueuedWrite",
    "RateLimited",
    "ServerError",
    "Snapshot",
    "StoreClosedError",
    "StoreLockedError",
    "StreamClosed",
    "Task",
    "TaskPage",
    "TasksyncClient",
    "TasksyncError",
    "token_expiry",
    "TokenProvider",
    "TokenProviderError",
    "Transport",
    "TransportError",
    "Unauthorized",
    "UNSET",
    "Unset",
    "ValidationError",
    "WriteRequest",
    "WriteResult",
]
