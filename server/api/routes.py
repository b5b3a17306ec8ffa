"""The route table: every URL the server answers, in one place."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute

from server.api import changes, health, sse, tasks, ws
from server.api.asyncapi import asyncapi_endpoint
from server.api.docs import docs_routes
from server.api.openapi import openapi_endpoint
from server.api.web import web_routes
from server.runtime.metrics import metrics_endpoint


def routes() -> list[BaseRoute]:
    # The router tries routes in order, a regular expression each: the task routes,
    # hit by nearly every request, come first. No two routes overlap, so order changes
    # nothing else.
    return [
        Route("/api/tasks", tasks.list_endpoint, methods=["GET"]),
        Route("/api/tasks", tasks.create_endpoint, methods=["POST"]),
        Route("/api/tasks/{task_id}", tasks.get_endpoint, methods=["GET"]),
        Route("/api/tasks/{task_id}", tasks.put_endpoint, methods=["PUT"]),
        Route("/api/tasks/{task_id}", tasks.patch_endpoint, methods=["PATCH"]),
        Route("/api/tasks/{task_id}", tasks.delete_endpoint, methods=["DELETE"]),
        Route("/api/tasks/{task_id}/complete", tasks.complete_endpoint, methods=["PATCH"]),
        Route("/api/changes", changes.changes_endpoint, methods=["GET"]),
        Route("/api/events", sse.sse_endpoint, methods=["GET"]),
        WebSocketRoute("/api/ws", ws.ws_endpoint),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/openapi.json", openapi_endpoint, methods=["GET"]),
        Route("/asyncapi.json", asyncapi_endpoint, methods=["GET"]),
        *docs_routes("/openapi.json", "Tasksync API"),
        *web_routes(),
    ]
