"""A typed use of the client openapi-python-client generates from /openapi.json (as the
package `tasksync_api`, next to this file): the test type-checks it with
`mypy --strict` and runs it against a real server.

    python python_consumer.py http://127.0.0.1:8000 <token>

prints one JSON line: what the calls returned.
"""

from __future__ import annotations

import datetime
import json
import sys

from tasksync_api import AuthenticatedClient
from tasksync_api.api.default import (
    create_task,
    get_task,
    list_tasks,
    patch_task,
)
from tasksync_api.models import (
    ListTasksStatus,
    Problem,
    Task,
    TaskInput,
    TaskList,
    TaskPatch,
)


def main(base_url: str, token: str) -> dict[str, object]:
    with AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True) as client:
        fields = TaskInput(title="Write the report", due_date=datetime.date(2026, 12, 1))
        created = create_task.sync(client=client, body=fields, x_client_id="generated-client")
        assert isinstance(created, Task), created

        patched = patch_task.sync_detailed(
            created.id, client=client, body=TaskPatch(completed=True), if_match=f'"{created.version}"'
        )
        assert isinstance(patched.parsed, Task), patched.parsed
        stale = patch_task.sync(
            created.id, client=client, body=TaskPatch(title="Too late"), if_match=f'"{created.version}"'
        )
        assert isinstance(stale, Problem), stale

        page = list_tasks.sync(client=client, status=ListTasksStatus.COMPLETED)
        assert isinstance(page, TaskList), page
        missing = get_task.sync("no-such-task", client=client)
        assert isinstance(missing, Problem), missing

        due: datetime.date | None = created.due_date
        return {
            "created": {
                "id": created.id,
                "title": created.title,
                "version": created.version,
                "due": str(due),
            },
            "patched": {"completed": patched.parsed.completed, "version": patched.parsed.version},
            "etag": patched.headers.get("ETag"),
            "stale": stale.status,
            "completed_ids": [task.id for task in page.items],
            "seq": page.seq,
            "missing": missing.status,
        }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
