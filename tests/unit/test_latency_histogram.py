"""The request-latency histogram (`server.runtime.metrics.LatencyHistogram`) exposes the
samples prometheus_client's own `Histogram` would for the same observations."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from server.runtime.metrics import LatencyHistogram

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
NAME = "tasksync_test_duration_seconds"


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_the_histogram_exposes_what_the_librarys_histogram_would() -> None:
    rng = random.Random(7)
    theirs_registry, ours_registry = CollectorRegistry(), CollectorRegistry()
    theirs = Histogram(NAME, "d", ["route", "method", "status"], buckets=BUCKETS, registry=theirs_registry)
    ours = LatencyHistogram(NAME, "d", ["route", "method", "status"], BUCKETS)
    ours_registry.register(ours)
    # Values on the bounds too: a bucket counts what is less than or equal to its bound.
    values = [rng.choice((*BUCKETS, 0.0, 20.0, rng.random() * 3)) for _ in range(500)]
    for value in values:
        labels = rng.choice(
            (("/api/tasks", "POST", "201"), ("/api/tasks", "GET", "200"), ("x", "GET", "404"))
        )
        theirs.labels(*labels).observe(value)
        ours.observe(labels, value)
    expected = samples(theirs_registry)
    got = samples(ours_registry)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert abs(got[key] - value) < 1e-9, key
