"""An async Python client for Tasksync: the REST API, and a live mirror of your tasks.

```python
from tasksync_client import LiveTasks, TasksyncClient

async with TasksyncClient("http://127.0.0.1:8000", token) as client:
    await client.create("Buy milk")
    async with LiveTasks(client) as live:
        async for change in live.changes():
            print(change.type, change.task)
```
"""

from tasksync_client._version import __version__
from tasksync_client.auth import Credentials, TokenProvider, token_expiry
from tasksync_client.backoff import Backoff
from tasksync_client.changes import Change, ChangeFeed, ChangeType
from tasksync_client.errors import (
    ApiError,
    BadRequest,
    NotFound,
    PreconditionFailed,
    ProtocolError,
    RateLimited,
    ServerError,
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
from tasksync_client.rest import UNSET, TasksyncClient, Unset
from tasksync_client.streams import Transport

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
    "Credentials",
    "DeletedTask",
    "EventType",
    "FieldError",
    "is_auth_failure",
    "is_retryable",
    "LiveTasks",
    "NotFound",
    "PreconditionFailed",
    "Problem",
    "ProtocolError",
    "RateLimited",
    "ServerError",
    "Snapshot",
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
]
