"""Prometheus metrics: one registry per app (tests build many apps in one process), the
series operators watch, and the `/metrics` endpoint."""

from __future__ import annotations

import asyncio
import bisect
import hmac
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import cast

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.requests import Request
from starlette.responses import Response

from server.errors import Unauthorized

# Sub-millisecond to seconds: fan-out latency lives at the low end, slow requests at the top.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Tally:
    """A counter for a hot path: `add()` is an integer increment, and the sum goes to the
    Prometheus counter once per event-loop pass. Its `inc` takes a lock, about 1 µs: a
    tenth of a socket's send when one event goes out to 10,000 sockets in one pass."""

    __slots__ = ("_counter", "_pending")

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._pending = 0

    def add(self) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending += 1

    def _flush(self) -> None:
        pending, self._pending = self._pending, 0
        self._counter.inc(pending)


_go_float = cast(Callable[[float], str], floatToGoString)  # untyped in the library


class LatencyHistogram(Collector):
    """A histogram for the request path: `observe` is a dictionary lookup, a bisection
    and two additions. prometheus_client's `Histogram` takes a lock for its sum and for
    the bucket, finds the bucket in a Python loop, and `labels()` builds and checks a
    tuple under a lock: about a tenth of a write's server CPU went to that one line
    (instruction counts under callgrind). The series reach `/metrics` the library's
    way, through a custom collector (`Collector.collect`, its extension point for
    this), with the samples the library's `Histogram` gives (`_bucket`, `_count`,
    `_sum`). Everything runs on the event loop, `/metrics` included."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        self._name, self._documentation, self._labelnames = name, documentation, list(labelnames)
        self._bounds = (*buckets, math.inf)
        # Each bound as the library writes it in `le` (its `Histogram` uses this too).
        self._le = [_go_float(bound) for bound in self._bounds]
        self._series: dict[tuple[str, ...], _Series] = {}

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        series = self._series.get(labels)
        if series is None:
            series = self._series[labels] = _Series(len(self._bounds))
        series.counts[bisect.bisect_left(self._bounds, value)] += 1
        series.total += value

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for labels, series in self._series.items():
            cumulative = itertools.accumulate(series.counts)
            buckets = [(le, float(count)) for le, count in zip(self._le, cumulative, strict=True)]
            family.add_metric(list(labels), buckets, series.total)
        yield family


class _Series:
    __slots__ = ("counts", "total")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size  # per bucket, not cumulative
        self.total = 0.0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_latency = LatencyHistogram(
            "tasksync_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["route", "method", "status"],
            _LATENCY_BUCKETS,
        )
        r.register(self.http_latency)
        self.open_sockets = Gauge("tasksync_open_sockets", "Open authenticated websockets", registry=r)
        self.open_streams = Gauge(
            "tasksync_open_streams", "Open event streams by transport", ["transport"], registry=r
        )
        self.events_recorded = Counter(
            "tasksync_events_recorded_total", "Events written to the log by this process", registry=r
        )
        self.recorded = Tally(self.events_recorded)  # every write adds one (see `Tally`)
        self.events_notified = Counter(
            "tasksync_events_notified_total",
            "Wake-ups sent to the other processes (after the commit, coalesced per user)",
            registry=r,
        )
        self.swept_feeds = Counter(
            "tasksync_swept_feeds_total",
            "Feeds woken by the recent-events sweep: events whose wake-up never came",
            registry=r,
        )
        self.wakeup_batches = Counter(
            "tasksync_wakeup_batches_total", "Batches of wake-ups sent (one statement each)", registry=r
        )
        self.events_delivered = Counter(
            "tasksync_events_delivered_total",
            "Events sent to clients, by transport",
            ["transport"],
            registry=r,
        )
        # Socket frames, counted by the fan-out for every socket of a user (see `Tally`).
        self.ws_delivered = Tally(self.events_delivered.labels("ws"))
        self.delivery_latency = Histogram(
            "tasksync_commit_to_delivery_seconds",
            "From the event's commit timestamp to this process reading it for its streams",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.listener_reconnects = Counter(
            "tasksync_listener_reconnects_total", "Reconnects of the fan-out listener", registry=r
        )
        self.limited = Counter(
            "tasksync_rate_limited_total",
            "Requests refused by a per-user limit, by budget (writes, reads, streams; tasks: the quota)",
            ["budget"],
            registry=r,
        )
        self.openings_refused = Counter(
            "tasksync_socket_openings_refused_total",
            "Socket handshakes refused (429) while the process was opening WS_MAX_OPENING at once",
            registry=r,
        )
        self.slow_consumer_closes = Counter(
            "tasksync_slow_consumer_closes_total", "Streams closed because the client fell behind", registry=r
        )
        self.resyncs_sent = Counter(
            "tasksync_resyncs_sent_total", "Resync instructions sent, by transport", ["transport"], registry=r
        )


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format; behind `Authorization: Bearer <METRICS_TOKEN>` when that
    setting is set (for deployments whose API port is public)."""
    token: str = request.app.state.services.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise Unauthorized("/metrics needs the metrics token")
    metrics: Metrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
