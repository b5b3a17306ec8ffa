"""`/asyncapi.json` as the AsyncAPI ecosystem sees it: the official parser
(`@asyncapi/parser`) accepts it, and frames captured from a real server (a socket
authenticated either way, an SSE stream) validate against the message schemas the
parser resolved, with no member the document leaves out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from server.api.asyncapi import build_document
from server.errors import CloseCode
from tests.ecosystem.conftest import ECOSYSTEM_DIR, fetch_json, node_tool
from tests.support import WAIT_TIMEOUT, ServerProcess, User

Frame = dict[str, Any]
EVENT_TYPES = ["task.created", "task.updated", "task.deleted"]


@pytest.fixture(scope="module")
async def document(server: ServerProcess) -> dict[str, Any]:
    return await fetch_json(server, "/asyncapi.json")


@pytest.fixture(scope="module")
def parsed(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What `@asyncapi/parser` made of the served document (see parse_asyncapi.mjs)."""
    path = tmp_path_factory.mktemp("asyncapi") / "asyncapi.json"
    path.write_text(json.dumps(document))
    done = node_tool("node", ECOSYSTEM_DIR / "parse_asyncapi.mjs", path)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_served_document_is_the_built_one(document: dict[str, Any], server: ServerProcess) -> None:
    assert document == build_document(f"127.0.0.1:{server.port}")
    assert document["servers"]["websocket"] == {
        "host": f"127.0.0.1:{server.port}",
        "protocol": "ws",
        "security": [{"$ref": "#/components/securitySchemes/bearer"}],
    }


async def test_openapi_links_to_asyncapi(server: ServerProcess) -> None:
    openapi = await fetch_json(server, "/openapi.json")
    assert openapi["externalDocs"]["url"] == "/asyncapi.json"


def test_the_official_parser_accepts_it(parsed: dict[str, Any]) -> None:
    # "Information" is left: the parser recommends 3.1, and the contract says 3.0.
    assert [d for d in parsed["diagnostics"] if d["severity"] in {"Error", "Warning"}] == []
    assert parsed["version"] == "3.0.0"
    assert parsed["channels"] == {"socket": "/api/ws", "events": "/api/events"}
    operations = parsed["operations"]

    def messages(action: str) -> set[tuple[str, str]]:
        return {
            (channel, message)
            for op in operations.values()
            if op["action"] == action
            for channel in op["channels"]
            for message in op["messages"]
        }

    events = ["taskCreated", "taskUpdated", "taskDeleted"]
    assert messages("send") == {
        *(("socket", m) for m in ["hello", *events, "resync", "error"]),
        *(("events", m) for m in ["hello", *events, "resync"]),
    }
    assert messages("receive") == {("socket", "auth"), ("socket", "ping")}
    assert operations["receivePing"]["reply"] == ["pong"]
    names = {message["name"] for message in parsed["messages"].values()}
    assert names == {"hello", *EVENT_TYPES, "resync", "ping", "pong", "auth", "error"}
    security = {(server["protocol"], tuple(server["schemes"])) for server in parsed["security"]}
    assert security == {("ws", ("http",)), ("http", ("http",))}


def test_every_close_code_is_documented(document: dict[str, Any]) -> None:
    documented = {entry["code"]: entry for entry in document["channels"]["socket"]["x-close-codes"]}
    assert set(documented) == {int(code) for code in CloseCode}
    assert set(documented) >= {4401, 4403, 4408, 4429, 1003, 1008, 1009, 1012}
    assert all(entry["description"] for entry in documented.values())


class Checker:
    """Validates frames against the parser's resolved message schemas, by `type`."""

    def __init__(self, parsed: dict[str, Any], prefix: str = "") -> None:
        self.messages = {
            message["name"]: message for key, message in parsed["messages"].items() if key.startswith(prefix)
        }
        self.seen: list[str] = []

    def check(self, frame: Frame, headers: dict[str, str] | None = None) -> None:
        message = self.messages[frame["type"]]
        _validate(message["payload"], frame)
        if headers is not None:
            _validate(message["headers"], headers)
        self.seen.append(frame["type"])


def _validate(schema: dict[str, Any], instance: Any) -> None:
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    errors = [str(error) for error in validator.iter_errors(instance)]
    assert errors == [], f"{instance!r} does not match its message schema: {errors}"
    assert _undocumented(schema, instance) == [], f"{instance!r} has members the document leaves out"


def _undocumented(schema: dict[str, Any], instance: Any, path: str = "") -> list[str]:
    if not isinstance(instance, dict) or "properties" not in schema:
        return []
    found = []
    for name, value in instance.items():
        if name not in schema["properties"]:
            found.append(f"{path}{name}")
        else:
            found += _undocumented(schema["properties"][name], value, f"{path}{name}.")
    return found


async def _next_frame(ws: ClientConnection) -> Frame:
    raw = await asyncio.wait_for(ws.recv(), WAIT_TIMEOUT)
    assert isinstance(raw, str), "the protocol sends text frames only"
    frame: Frame = json.loads(raw)
    return frame


async def _closed_with(ws: ClientConnection) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), WAIT_TIMEOUT)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def _write_task_lifecycle(server: ServerProcess, user: User) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as http:
        created = await http.post("/api/tasks", json={"title": "Frames", "due_date": "2026-12-01"})
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        patched = await http.patch(
            f"/api/tasks/{task_id}", json={"completed": True}, headers={"X-Client-Id": "tab-1"}
        )
        assert patched.status_code == 200, patched.text
        assert (await http.delete(f"/api/tasks/{task_id}")).status_code == 204


async def test_real_socket_frames_validate(server: ServerProcess, parsed: dict[str, Any], user: User) -> None:
    checker = Checker(parsed)
    header = {"Authorization": f"Bearer {user.token}"}
    async with websockets.connect(server.ws_url, additional_headers=header, open_timeout=10) as ws:
        hello = await _next_frame(ws)
        checker.check(hello)
        assert hello == {"type": "hello", "seq": 0, "user_id": user.id}

        await _write_task_lifecycle(server, user)
        for _ in range(3):
            checker.check(await _next_frame(ws))

        await ws.send(json.dumps({"type": "ping"}))
        checker.check(await _next_frame(ws))
        for bad in ["{not json", json.dumps({"type": "subscribe"})]:
            await ws.send(bad)
            checker.check(await _next_frame(ws))
        await ws.send(json.dumps({"type": "auth", "token": user.token}))  # a refresh: no answer
        await ws.send(json.dumps({"type": "ping"}))
        checker.check(await _next_frame(ws))
    assert checker.seen == [
        "hello",
        "task.created",
        "task.updated",
        "task.deleted",
        "pong",
        "error",
        "error",
        "pong",
    ]

    # A browser: no header, the token in the first message; a `since` past the head.
    async with websockets.connect(f"{server.ws_url}?since=1000000", open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "token": user.token}))
        checker.check(await _next_frame(ws))
        checker.check(await _next_frame(ws))
    assert checker.seen[-2:] == ["hello", "resync"]

    # The client messages too: what a client sends is what the document says it may.
    receiver = Checker(parsed)
    receiver.check({"type": "auth", "token": user.token})
    receiver.check({"type": "ping"})


async def test_real_close_codes_are_documented(
    server: ServerProcess, document: dict[str, Any], user: User
) -> None:
    documented = {entry["code"] for entry in document["channels"]["socket"]["x-close-codes"]}
    header = {"Authorization": f"Bearer {user.token}"}
    observed = []
    async with websockets.connect(f"{server.ws_url}?since=-1", additional_headers=header) as ws:
        observed.append(await _closed_with(ws))
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        observed.append(await _closed_with(ws))
    async with websockets.connect(server.ws_url, additional_headers=header) as ws:
        await _next_frame(ws)
        await ws.send(b"\x00")
        observed.append(await _closed_with(ws))
    assert observed == [CloseCode.POLICY_VIOLATION, CloseCode.NOT_AUTHENTICATED, CloseCode.UNSUPPORTED_DATA]
    assert set(observed) <= documented


async def _sse_frames(response: httpx.Response) -> AsyncIterator[tuple[dict[str, str], Frame]]:
    """(SSE fields but `data`, the data as JSON) of each frame; comments are skipped."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if line:
            name, _, value = line.partition(": ")
            fields[name] = value
            continue
        if fields:
            data = fields.pop("data")
            yield fields, json.loads(data)
            fields = {}


async def _read_sse(
    server: ServerProcess, user: User, since: int, count: int
) -> list[tuple[dict[str, str], Frame]]:
    frames: list[tuple[dict[str, str], Frame]] = []
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=WAIT_TIMEOUT) as http:
        async with http.stream("GET", "/api/events", params={"since": since}) as response:
            assert response.status_code == 200
            async with asyncio.timeout(WAIT_TIMEOUT):
                async for frame in _sse_frames(response):
                    frames.append(frame)
                    if len(frames) == count:
                        break
    return frames


async def test_real_sse_frames_validate(server: ServerProcess, parsed: dict[str, Any], user: User) -> None:
    checker = Checker(parsed, prefix="sse.")
    await _write_task_lifecycle(server, user)
    for fields, frame in await _read_sse(server, user, since=0, count=4):
        checker.check(frame, fields)
    for fields, frame in await _read_sse(server, user, since=1000000, count=2):
        checker.check(frame, fields)
    assert checker.seen == ["hello", "task.created", "task.updated", "task.deleted", "hello", "resync"]
