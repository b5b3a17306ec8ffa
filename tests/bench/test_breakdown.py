"""The per-request CPU breakdown's rule (bench/breakdown.py) on stacks shaped like py-spy's:
the innermost categorised frame decides, generic helpers pass a sample to their caller,
and JSON work belongs to the auth, SQL, logging, metrics or rate limiting that asked
for it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench import breakdown
from bench.config import ROOT

LOOP = [
    "<module> (server/__main__.py:160)",
    "main (server/__main__.py:140)",
    "_serve (server/__main__.py:80)",
    "Server.run (uvicorn/server.py:67)",
    "asyncio_run (uvicorn/_compat.py:30)",
    "Runner.run (asyncio/runners.py:118)",
]
REQUEST = [
    *LOOP,
    "RequestResponseCycle.run_asgi (uvicorn/protocols/http/httptools_impl.py:416)",
    "Starlette.__call__ (starlette/applications.py:112)",
    "Edge.__call__ (server/api/edge.py:60)",
    "Router.__call__ (starlette/routing.py:714)",
    "list_endpoint (server/api/tasks.py:64)",
]


@pytest.mark.parametrize(
    ("leaf", "category"),
    [
        (["PyJWS._load (jwt/api_jws.py:250)", "loads (json/__init__.py:346)"], breakdown.AUTH),
        (["authenticate (server/api/caller.py:126)", "b64encode (base64.py:58)"], breakdown.AUTH),
        (["spend (server/api/caller.py:99)", "MemoryStorage.incr (limits/aio/memory.py:90)"], breakdown.RATE),
        (["Pool._acquire (asyncpg/pool.py:860)", "Queue.get (asyncio/queues.py:158)"], breakdown.SQL),
        (["json_response (server/api/writes.py:29)", "dumps (json/__init__.py:238)"], breakdown.JSON),
        (["task_json (server/tasks/operations.py:62)", "utc_iso (server/schemas.py:33)"], breakdown.JSON),
        (["parse_fields (server/schemas.py:196)", "BaseModel.__init__ (pydantic/main.py:250)"], "validation"),
        (
            [
                "Logger.info (logging/__init__.py:1489)",
                "JsonFormatter.format (server/runtime/observability.py:99)",
                "dumps (json/__init__.py:238)",
            ],
            breakdown.LOGGING,
        ),
        (
            ["JsonFormatter.format (server/runtime/observability.py:103)", "dumps (server/wire.py:18)"],
            "logging",
        ),
        (["task_response (server/api/writes.py:35)", "dump_bytes (server/wire.py:22)"], breakdown.JSON),
        (["Histogram.observe (prometheus_client/metrics.py:650)"], breakdown.METRICS),
        (["Route.matches (starlette/routing.py:230)"], breakdown.ROUTING),
        (["parse_list_query (server/api/tasks.py:40)", "uuid4 (uuid.py:724)"], breakdown.OTHER),
        ([], breakdown.OTHER),  # the handler's own line
    ],
)  # fmt: skip
def test_a_request_sample_goes_to_its_innermost_category(leaf: list[str], category: str) -> None:
    assert breakdown.classify([*REQUEST, *leaf]) == category


def test_the_loop_alone_and_no_python_frame_are_the_http_server() -> None:
    assert breakdown.classify(LOOP) == breakdown.HTTP
    assert breakdown.classify([]) == breakdown.HTTP
    send = "RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py:470)"
    assert breakdown.classify([*REQUEST, send]) == breakdown.HTTP


def test_a_leaf_line_calling_orjson_is_json_work_of_its_function() -> None:
    source = (ROOT / "bench/ceiling_app.py").read_text().splitlines()
    dumps = next(i for i, text in enumerate(source, 1) if "return Response(orjson.dumps(body)" in text)
    loads = next(i for i, text in enumerate(source, 1) if "claims = orjson.loads(" in text)
    handler = "list_tasks (bench/ceiling_app.py:150)"
    assert breakdown.classify([*LOOP, handler, f"json_response (bench/ceiling_app.py:{dumps})"]) == "JSON"
    assert breakdown.classify([*LOOP, handler, f"user_of (bench/ceiling_app.py:{loads})"]) == "auth"


def test_shares_times_cpu_per_request(tmp_path: Path) -> None:
    folded = tmp_path / "p.folded"
    folded.write_text(
        ";".join([*REQUEST, "Route.matches (starlette/routing.py:230)"]) + " 3\n"
        + ";".join([*REQUEST, "Histogram.observe (prometheus_client/metrics.py:650)"]) + " 1\n"
    )  # fmt: skip
    counts = breakdown.count(folded)
    assert counts == Counter({breakdown.ROUTING: 3, breakdown.METRICS: 1})
    us = breakdown.per_request(counts, 400.0)
    assert us[breakdown.ROUTING] == 300.0 and us[breakdown.METRICS] == 100.0
    assert sum(us.values()) == 400.0
