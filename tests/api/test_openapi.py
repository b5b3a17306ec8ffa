"""The OpenAPI document and its offline UIs, and the API checked against the document.

The last test runs schemathesis (property-based, positive and negative data) over every
operation except `GET /api/events` (an SSE stream never ends), against a real server
process on each database: no input may produce a 5xx, and every response must match
the document in status, content type, headers and body.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from server.api.openapi import build_document
from server.settings import Settings
from tests.support import ServerProcess, User, running

# Every HTTP route of the contract (PROTOCOL.md "REST", plus the SSE stream of "Sync"),
# path parameters written as `{}`. The docs routes themselves are not API operations.
CONTRACT_ROUTES = {
    ("GET", "/api/tasks"),
    ("POST", "/api/tasks"),
    ("GET", "/api/tasks/{}"),
    ("PUT", "/api/tasks/{}"),
    ("PATCH", "/api/tasks/{}"),
    ("DELETE", "/api/tasks/{}"),
    ("PATCH", "/api/tasks/{}/complete"),
    ("GET", "/api/changes"),
    ("GET", "/api/events"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def documented_operations() -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in build_document()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    ]


def test_document_is_openapi_3_1_and_lists_every_contract_route() -> None:
    document = build_document()
    assert document["openapi"] == "3.1.0"
    documented = {(method, re.sub(r"\{[^}]*\}", "{}", path)) for method, path in documented_operations()}
    assert documented == CONTRACT_ROUTES


async def test_served_document_is_the_built_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == build_document()


def test_every_operation_documents_its_auth_failure() -> None:
    document = build_document()
    for method, path in documented_operations():
        operation = document["paths"][path][method.lower()]
        public = operation.get("security") == []
        assert public == (path in {"/healthz", "/readyz"}), (method, path)
        if not public:
            assert "401" in operation["responses"], (method, path)


# --- /docs and /redoc ------------------------------------------------------------------


class _AssetLinks(HTMLParser):
    """The URLs a page makes the browser load: script sources and stylesheets."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"] or "")
        if tag == "link" and values.get("href"):
            assert values.get("rel") == "stylesheet", f"unexpected <link>: {values}"
            self.stylesheets.append(values["href"] or "")


JS_TYPES = ("text/javascript", "application/javascript")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_page_loads_only_assets_it_serves_itself(client: httpx.AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not re.search(r"https?://", html), "the page must work offline"

    csp = response.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]

    links = _AssetLinks()
    links.feed(html)
    assert links.scripts, "the page loads its UI from scripts"
    for url, expected in [(u, JS_TYPES) for u in links.scripts] + [
        (u, ("text/css",)) for u in links.stylesheets
    ]:
        assert url.startswith("/"), f"{url} is not served by this app"
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].split(";")[0] in expected, (url, asset.headers["content-type"])
        assert asset.content
    # The boot scripts read the document's URL from the page, and it is served here.
    spec_url = re.search(r'data-openapi-url="([^"]+)"', html)
    assert spec_url is not None
    assert (await client.get(spec_url.group(1))).status_code == 200


async def test_boot_scripts_call_nothing_outside(client: httpx.AsyncClient) -> None:
    for name in ("swagger-init.js", "redoc-init.js"):
        script = await client.get(f"/docs/assets/init/{name}")
        assert script.status_code == 200
        assert not re.search(r"https?://", script.text)


async def test_docs_assets_do_not_escape_the_static_directory(client: httpx.AsyncClient) -> None:
    for path in ("/docs/assets/../openapi.py", "/docs/assets/%2e%2e/openapi.py", "/docs/assets/nope.js"):
        assert (await client.get(path)).status_code == 404, path


# --- schemathesis ----------------------------------------------------------------------


def _takes_input(method: str, path: str) -> bool:
    item = build_document()["paths"][path]
    operation = item[method.lower()]
    return bool(item.get("parameters") or operation.get("parameters") or operation.get("requestBody"))


# Negative data needs something to be negative about: not for /healthz and /readyz.
FUZZ_CASES = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode}")
    for method, path in documented_operations()
    if path != "/api/events"
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE or _takes_input(method, path)
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=30,
    deadline=None,
    # Nothing under the checkout: no example database at all.
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
    derandomize=False,
    print_blob=True,
)


@pytest.fixture(scope="module", autouse=True)
def hypothesis_storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis's own caches (constants, Unicode tables) go to a temporary directory,
    like its example database (`database=None`): nothing is written into the checkout."""
    set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(scope="module")
async def api_server(
    database_url: str, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    """`python -m server serve` on this module's database (its own file on SQLite)."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz')}/tasksync.db"
    server = ServerProcess(
        {
            "DATABASE_URL": database_url,
            # A long-poll that finds nothing would hold each `wait` example for seconds.
            "LONGPOLL_MAX_WAIT_SECONDS": "0.05",
            # The limits as shipped, not the suite's raised ones: their 429s must be in the
            # document too. Refusals are answered at once, not held for a second each.
            "RATE_LIMIT_WRITES": Settings.model_fields["rate_limit_writes"].default,
            "RATE_LIMIT_READS": Settings.model_fields["rate_limit_reads"].default,
            "RATE_LIMIT_STREAM_OPENS": Settings.model_fields["rate_limit_stream_opens"].default,
            "RATE_LIMIT_REFUSAL_DELAY_SECONDS": "0",
        },
        artifacts_dir,
        name="schemathesis",
    )
    async with running(server):
        yield server


@pytest.fixture(scope="module")
def api_schema(api_server: ServerProcess) -> OpenApiSchema:
    return schemathesis.openapi.from_url(f"{api_server.url}/openapi.json")


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.mark.parametrize(("method", "path", "mode"), FUZZ_CASES)
def test_api_conforms_to_its_document(
    api_server: ServerProcess,
    api_schema: OpenApiSchema,
    http: requests.Session,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    user = User(id=f"fuzz-{uuid.uuid4().hex[:12]}")
    auth = {"Authorization": f"Bearer {user.token}"}

    def existing_task() -> str:
        created = http.post(f"{api_server.url}/api/tasks", json={"title": "fuzzed"}, headers=auth)
        assert created.status_code == 201, created.text
        task_id: str = created.json()["id"]
        return task_id

    @FUZZ_SETTINGS
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), on_a_real_task=st.booleans())
    def check(case: schemathesis.Case[Any], on_a_real_task: bool) -> None:
        # Random ids are (almost) never tasks; half the examples aim at one that exists,
        # so the success paths (200, ETag, the Task schema) are checked too.
        if on_a_real_task and case.path_parameters and "task_id" in case.path_parameters:
            case.path_parameters["task_id"] = existing_task()
        response = case.call(base_url=api_server.url, session=http, headers=auth)
        if response.status_code == 400 and response.content == b"Invalid HTTP request received.":
            # Not HTTP at all (a Content-Length that is no number, say): uvicorn's parser
            # refuses it before any route. The document describes the API, not the parser.
            return
        case.validate_response(response, checks=CHECKS, headers=auth)

    check()


def test_every_api_route_documents_limits_and_outages() -> None:
    paths = build_document()["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            if path.startswith("/api/") and method != "parameters":
                assert {"429", "503"} <= operation["responses"].keys(), (method, path)
    assert "403" in paths["/api/tasks"]["post"]["responses"]
    assert "403" in paths["/api/tasks/{task_id}"]["put"]["responses"]
    assert "Retry-After" in paths["/api/tasks"]["get"]["responses"]["429"]["headers"]


def test_optional_problem_members_are_optional_not_null() -> None:
    problem = build_document()["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    for name in ("errors", "current", "conflicts"):
        assert "default" not in problem["properties"][name]
        assert "anyOf" not in problem["properties"][name]


def test_the_development_token_route_is_documented_in_development_only() -> None:
    assert "/api/dev/token" not in build_document()["paths"]
    route = build_document(dev=True)["paths"]["/api/dev/token"]
    assert "Development mode only" in route["post"]["summary"]
