"""Per-request CPU breakdown (`--profile`): every py-spy sample of a REST round put in one
category (auth, routing and middleware, SQL, JSON, …), and each category's share of the
samples times the server CPU per request measured in the unprofiled rounds.

The rule, for one sample (a stack, root first): walk from the leaf towards the root; the
first frame with a category decides. Three kinds of frame do not decide by themselves:

* generic helpers (`contextlib`, `functools`, `base64`, `hmac`, `uuid`, `datetime`,
  asyncio's futures, queues and timeouts, …) pass the sample on to their caller, so
  `hmac` in the ceiling's token check is auth and an asyncio queue in the pool is SQL;
* our own code without a category (handlers, domain code: "other") goes to the first
  categorised caller if that is a feature (auth, SQL, JSON, …), and stays "other" under
  routing or the HTTP server: a helper of `task_json` is JSON, a handler's own line is
  "other";
* JSON library work (`json`, and a leaf line of our code that calls `orjson.`/`json.`,
  orjson having no Python frame) goes to the first categorised caller if that is auth,
  SQL, logging, metrics or rate limiting (PyJWT decoding claims is auth, the log
  formatter's `json.dumps` is logging) and is JSON otherwise (bodies, cursors).

A stack that reaches the root with none of these is "HTTP server / event loop" when it
is only the loop, or has no Python frame at all: uvloop's and httptools' C and asyncpg's
Cython protocol (parsing rows) have none without --native.
"""

from __future__ import annotations

import json
import linecache
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.config import RESULTS_DIR, ROOT

AUTH = "auth"
ROUTING = "routing and middleware"
RATE = "rate limiting"
SQL = "SQL"
VALIDATION = "validation"
JSON = "JSON"
LOGGING = "logging"
METRICS = "metrics"
HTTP = "HTTP server / event loop"
OTHER = "other (handlers, domain code)"
CATEGORIES = (AUTH, ROUTING, RATE, SQL, VALIDATION, JSON, LOGGING, METRICS, HTTP, OTHER)
# JSON library work done on behalf of one of these belongs to it.
_CLAIMS_JSON = {AUTH, SQL, LOGGING, METRICS, RATE}
# Frames that frame the request rather than do a part of it: our own uncategorised code
# under them is "other", not theirs.
_CONTAINERS = {ROUTING, HTTP}
_JSON_WORK = "json library"  # a pending kind, never a result

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:]+)(?::(?P<line>\d+))?\)$")
_JSON_CALL = re.compile(r"\bo?json\.(dumps|loads)\b")

# (path prefix, category), first match wins; a path is py-spy's (relative to sys.path).
_BY_PATH: tuple[tuple[str, str], ...] = (
    ("server/auth/tokens.py", AUTH),
    ("server/auth/token_cache.py", AUTH),
    ("jwt/", AUTH),
    ("cryptography/", AUTH),
    ("server/limits/", RATE),  # budgets, in-flight places, refusals, socket bounds
    ("limits/", RATE),
    ("server/db/database.py", SQL),
    ("server/db/pg_session.py", SQL),
    ("server/db/compile.py", SQL),
    ("server/tasks/listing.py", SQL),
    ("sqlalchemy/", SQL),
    ("asyncpg/", SQL),
    ("greenlet/", SQL),
    ("server/schemas.py", VALIDATION),
    ("pydantic/", VALIDATION),
    ("pydantic_core/", VALIDATION),
    ("json/", _JSON_WORK),
    ("server/wire.py", _JSON_WORK),  # orjson for responses, event bodies and log lines
    ("logging/", LOGGING),
    ("server/runtime/metrics.py", METRICS),
    ("prometheus_client/", METRICS),
    ("server/runtime/observability.py", ROUTING),  # request ids; its log line and formatter are logging
    ("server/api/edge.py", ROUTING),
    ("server/api/header_bounds.py", ROUTING),
    ("server/api/routes.py", ROUTING),
    ("starlette/", ROUTING),
    ("uvicorn/", HTTP),
    ("httptools/", HTTP),
    ("h11/", HTTP),
    ("websockets/", HTTP),
    ("uvloop/", HTTP),
    ("server/", OTHER),
    ("bench/", OTHER),
)
# Functions that are not their module's category.
_BY_FUNCTION: dict[tuple[str, str], str] = {
    ("server/runtime/observability.py", "JsonFormatter.format"): LOGGING,
    ("server/runtime/observability.py", "JsonFormatter.line"): LOGGING,
    ("server/runtime/observability.py", "JsonLinesHandler.sole_handler_of"): LOGGING,
    ("server/runtime/observability.py", "JsonLinesHandler.write_line"): LOGGING,
    ("server/runtime/observability.py", "log_request"): LOGGING,  # the metric inside is its own category
    ("server/schemas.py", "utc_iso"): JSON,
    ("server/tasks/listing.py", "encode_cursor"): JSON,
    ("server/tasks/listing.py", "decode_cursor"): JSON,
    ("server/tasks/operations.py", "task_json"): JSON,
    ("server/api/writes.py", "dumps"): JSON,
    ("server/api/writes.py", "json_response"): JSON,
    ("server/api/writes.py", "task_response"): JSON,
    ("server/api/bodies.py", "read_json_object"): JSON,
    ("server/api/caller.py", "authenticate"): AUTH,
    ("server/api/caller.py", "signed_in"): AUTH,  # the first-sight user row
    ("server/users.py", "SeenUsers.fresh"): AUTH,
    ("server/users.py", "SeenUsers.add"): AUTH,
    ("server/api/caller.py", "spend"): RATE,
    ("bench/ceiling_app.py", "user_of"): AUTH,
    ("bench/ceiling_app.py", "_b64"): AUTH,
    ("bench/ceiling_app.py", "task_json"): JSON,
    ("bench/ceiling_app.py", "iso"): JSON,
    ("bench/ceiling_app.py", "json_response"): JSON,
}
# The event loop: a category only where nothing below it has one.
_LOOP = ("asyncio/", "selectors.py", "concurrent/", "threading.py")


def parse(frame: str) -> tuple[str, str, int]:
    """py-spy's `func (path:line)` as (func, path, line); (frame, "", 0) if unparsable."""
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip(), "", 0
    return m["func"], m["file"], int(m["line"] or 0)


def frame_category(func: str, path: str) -> str | None:
    """The category of one frame; None for a generic helper (the caller decides)."""
    if (path, func) in _BY_FUNCTION:
        return _BY_FUNCTION[path, func]
    for prefix, category in _BY_PATH:
        if path.startswith(prefix):
            return category
    return None


def _calls_json(path: str, line: int) -> bool:
    if not line or not path.startswith(("server/", "bench/")):
        return False
    return bool(_JSON_CALL.search(linecache.getline(str(ROOT / path), line)))


def classify(frames: list[str]) -> str:
    """The category of one sample; `frames` root first, as py-spy folds them."""
    pending: str | None = None  # _JSON_WORK or OTHER, waiting for a caller that claims it
    loop = not frames
    for i, frame in enumerate(reversed(frames)):
        func, path, line = parse(frame)
        if path.startswith(_LOOP):
            loop = True
            continue
        category = frame_category(func, path)
        if i == 0 and _calls_json(path, line):
            pending, category = _JSON_WORK, category if category != OTHER else None
        if category is None:
            continue
        if category in (_JSON_WORK, OTHER):
            pending = pending or category
            continue
        if pending == _JSON_WORK:
            return category if category in _CLAIMS_JSON else JSON
        if pending == OTHER and category in _CONTAINERS:
            return OTHER
        return category
    if pending is not None:
        return JSON if pending == _JSON_WORK else OTHER
    return HTTP if loop else OTHER


def count(folded: Path) -> Counter[str]:
    """Samples per category in a py-spy raw (folded) file."""
    counts: Counter[str] = Counter()
    for text in folded.read_text(errors="replace").splitlines():
        stack, _, n = text.rpartition(" ")
        if n.isdigit():
            counts[classify([f for f in stack.split(";") if f.strip()])] += int(n)
    return counts


def per_request(counts: Counter[str], cpu_us: float) -> dict[str, float]:
    """µs per request of each category: its share of the samples × CPU per request."""
    total = sum(counts.values())
    return {c: (cpu_us * counts[c] / total if total else 0.0) for c in CATEGORIES}


def markdown(raw: dict[str, Any]) -> str:
    """The breakdown table of a run (raw["cpu-breakdown"]), or "" without one."""
    data: dict[str, dict[str, Any]] = raw.get("cpu-breakdown") or {}
    modes = [m for m in ("read", "write") if m in data]
    if not modes:
        return ""
    head = "| category | " + " | ".join(f"{m}: Tasksync | {m}: ceiling" for m in modes) + " |"
    rows = [head, "| --- |" + " ---: | ---: |" * len(modes)]

    def cell(mode: str, side: str, category: str | None) -> str:
        entry = data[mode][side]
        if category is None:
            return f"**{entry['cpu_us']:,.0f} µs**"
        us = entry["us_per_request"][category]
        share = entry["samples_by_category"].get(category, 0) / max(entry["samples"], 1)
        return f"{us:,.0f} µs ({100 * share:.0f}%)" if us else "—"

    for category in (*CATEGORIES, None):
        name = category or "**server CPU per request**"
        cells = [cell(m, side, category) for m in modes for side in ("server", "ceiling")]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    notes = []
    for mode in modes:
        for side in ("server", "ceiling"):
            e = data[mode][side]
            notes.append(
                f"{mode} {side}: {e['samples']:,} samples, {e['cpu_us_profiled']:,.0f} µs/request "
                f"while profiled, {e['rps_profiled']:,.0f} req/s"
            )
    return (
        "\nServer CPU per request by category (µs, share of py-spy samples × the CPU per request "
        "of the unprofiled round in the table above; py-spy recorded a separate round of its own, "
        "CPU samples only):\n\n" + "\n".join(rows) + "\n\nProfiled rounds: " + "; ".join(notes) + ".\n"
    )


def reclassify(results: Path) -> str:
    """Count a finished run's samples again (`python -m bench.breakdown bench/results`,
    after a change of the rule): latest.json's cpu-breakdown is rewritten from the
    profiles/*.folded files it was made from; returns the new table."""
    path = results / "latest.json"
    data = json.loads(path.read_text())
    for mode, sides in data["raw"].get("cpu-breakdown", {}).items():
        for side, entry in sides.items():
            folded = (
                results / "profiles" / (f"rest-{mode}" + ("" if side == "server" else "-ceiling") + ".folded")
            )
            samples = count(folded)
            entry["samples"] = sum(samples.values())
            entry["samples_by_category"] = dict(samples)
            entry["us_per_request"] = per_request(samples, entry["cpu_us"])
    path.write_text(json.dumps(data, indent=1, default=str))
    return markdown(data["raw"])


if __name__ == "__main__":
    print(reclassify(Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS_DIR))
