"""The app layer's per-request helpers: pooled request ids and the loop-only metrics, checked
against what they replace (``uuid.uuid4()``, prometheus_client's Counter and Histogram)."""

from __future__ import annotations

import os
import re
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from aksml.runtime.app import RequestIds
from aksml.runtime.metrics import LoopCounter, LoopHistogram, RuntimeMetrics, _LoopCollector
from aksml.runtime.metrics import _LoopFamily as LoopFamily

BOUNDS = (0.0005, 0.001, 0.5, 1.0, 60.0)


def test_request_ids_are_random_uuid4_strings() -> None:
    ids = RequestIds()
    seen = {ids.next() for _ in range(2000)}  # several pools
    assert len(seen) == 2000
    for raw in seen:
        text = raw.decode()
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # the same rendering as str(uuid.uuid4())


def test_request_ids_never_reuse_the_pool_after_fork() -> None:
    ids = RequestIds()
    ids.next()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: its next id must not be the parent's next id
        os.write(write, ids.next())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64)
    assert child != ids.next()


def _exposition(registry: CollectorRegistry) -> str:
    """The text exposition without the ``_created`` timestamps."""
    text = generate_latest(registry).decode()
    return re.sub(r"(_created(\{[^}]*\})?) \S+", r"\1 T", text)


def test_loop_metrics_expose_what_prometheus_client_would() -> None:
    theirs = CollectorRegistry()
    counter = Counter("x_rejected", "Doc.", ["reason"], registry=theirs)
    histogram = Histogram("x_seconds", "Doc.", buckets=BOUNDS, registry=theirs)
    ours = CollectorRegistry()
    counters = LoopFamily("x_rejected", "Doc.", "counter", ("reason",))
    seconds = LoopFamily("x_seconds", "Doc.", "histogram")
    ours.register(_LoopCollector([counters, seconds]))
    ours_hist = LoopHistogram(BOUNDS)
    seconds.children[()] = ours_hist
    for reason in ("a", "b"):
        counters.children[(reason,)] = LoopCounter()
        counter.labels(reason)
    for value in (0.0, 0.0005, 0.0007, 0.5, 0.9, 1.0, 59.0, 61.0, 1e9):
        histogram.observe(value)
        ours_hist.observe(value)
    counter.labels("a").inc()
    counters.children[("a",)].inc()
    assert _exposition(ours) == _exposition(theirs)


def test_runtime_metrics_count_responses_by_code_and_class() -> None:
    metrics = RuntimeMetrics(lambda: 0.0, lambda: 0.0)
    for status in (200, 200, 503, 502, 404):
        metrics.response(status)
    text = generate_latest(metrics.registry).decode()
    assert 'aksml_responses_total{code="200"} 2.0' in text
    assert 'aksml_responses_by_class_total{class="5xx"} 2.0' in text
    assert 'aksml_responses_by_class_total{class="4xx"} 1.0' in text
