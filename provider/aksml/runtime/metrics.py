"""Prometheus metrics of the scoring runtime, served on their own port.

Labels are bounded: rejection ``reason`` is one of :data:`REJECT_REASONS`, response ``code`` is
an HTTP status (at most ~60 values). Gauges read the admission gate at scrape time, so they
cost nothing per request.

The per-request counters and histograms are plain numbers updated on the event loop (the only
thread that touches them) and turned into Prometheus families at scrape time by a collector:
``prometheus_client``'s own Counter/Histogram take a lock per update and search buckets in
Python, ~9 locked updates (~10 µs) per request. The exposition is the same (``_total``,
``_created``, cumulative ``_bucket`` series).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Final, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from aksml import contract as c

REJECT_REASONS: Final = (
    "queue_timeout",
    "draining",
    "not_ready",
    "unauthorized",
    "body_too_large",
    "header_too_large",
)
"""Every value of the ``reason`` label of ``aksml_requests_rejected_total``."""

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)


class LoopCounter:
    """A counter updated from the event loop only (no lock)."""

    __slots__ = ("created", "value")

    def __init__(self) -> None:
        """Start at zero, created now."""
        self.value = 0.0
        """Current count."""
        self.created = time.time()
        """Creation time (the ``_created`` sample)."""

    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount``."""
        self.value += amount


class LoopHistogram:
    """A histogram updated from the event loop only (no lock; bucket found by bisection)."""

    __slots__ = ("bounds", "counts", "created", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        """Empty buckets with upper bounds ``bounds`` (+Inf is added)."""
        self.bounds = (*bounds, float("inf"))
        """Inclusive upper bounds, ascending, the last one +Inf."""
        self.counts = [0] * len(self.bounds)
        """Observations per bucket (not cumulative)."""
        self.sum = 0.0
        """Sum of observations."""
        self.created = time.time()
        """Creation time (the ``_created`` sample)."""

    def observe(self, amount: float) -> None:
        """Record one observation (``le`` buckets are inclusive, as Prometheus's)."""
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount


class _LoopFamily:
    """One metric family backed by loop counters or histograms, keyed by label values."""

    def __init__(self, name: str, doc: str, kind: str, labels: tuple[str, ...] = ()) -> None:
        self.name = name
        self.doc = doc
        self.kind = kind
        self.labels = labels
        self.children: dict[tuple[str, ...], LoopCounter | LoopHistogram] = {}

    def metric(self) -> Metric:
        """The family as Prometheus samples."""
        name = self.name
        out = Metric(name, self.doc, self.kind)
        for values, child in list(self.children.items()):
            labels = dict(zip(self.labels, values, strict=True))
            if isinstance(child, LoopCounter):
                out.add_sample(name + "_total", labels, child.value)
            else:
                running = 0
                for bound, count in zip(child.bounds, child.counts, strict=True):
                    running += count
                    out.add_sample(name + "_bucket", {**labels, "le": _go_float(bound)}, running)
                out.add_sample(name + "_count", labels, running)
                out.add_sample(name + "_sum", labels, child.sum)
            out.add_sample(name + "_created", labels, child.created)
        return out


def _go_float(bound: float) -> str:
    """A bucket bound as Prometheus writes it (``+Inf``, ``0.5``, ``10.0``)."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


class _LoopCollector(Collector):
    def __init__(self, families: list[_LoopFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        for family in self.families:
            yield family.metric()


class RuntimeMetrics:
    """The runtime's metric families, registered in a private registry."""

    def __init__(self, in_flight: Callable[[], float], queue_depth: Callable[[], float]) -> None:
        """Create the families; the two callables are read at scrape time."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        Gauge(c.INFLIGHT_METRIC, "run() calls holding an admission slot.", registry=r).set_function(
            in_flight
        )
        Gauge(
            c.QUEUE_DEPTH_METRIC, "Requests waiting for an admission slot.", registry=r
        ).set_function(queue_depth)
        admitted = _LoopFamily(
            "aksml_requests_admitted", "Scoring requests that got an admission slot.", "counter"
        )
        self.admitted = _child(admitted, (), LoopCounter())
        rejected = _LoopFamily(
            "aksml_requests_rejected",
            "Scoring requests refused before run(), by reason.",
            "counter",
            ("reason",),
        )
        self.rejected = {
            reason: _child(rejected, (reason,), LoopCounter()) for reason in REJECT_REASONS
        }
        self._responses = _LoopFamily(
            "aksml_responses", "Scoring responses by HTTP status.", "counter", ("code",)
        )
        self._by_class = _LoopFamily(
            "aksml_responses_by_class",
            "Scoring responses by HTTP status class (2xx, 3xx, 4xx, 5xx).",
            "counter",
            ("class",),
        )
        self._codes: dict[int, tuple[LoopCounter, LoopCounter]] = {}
        self.worker_restarts = Counter(
            "aksml_worker_restarts",
            "Worker processes replaced after a timeout or a crash (process worker mode).",
            registry=r,
        )
        self.model_load_seconds = Gauge(
            "aksml_model_load_seconds",
            "Time loading score.py and running init() took at startup.",
            registry=r,
        )
        histograms = [
            _LoopFamily(name, doc, "histogram")
            for name, doc in (
                ("aksml_queue_wait_seconds", "Time admitted requests waited for a slot."),
                ("aksml_run_seconds", "Time in run() (or the upstream call in proxy mode)."),
                (
                    "aksml_request_duration_seconds",
                    "Scoring request time from arrival to response.",
                ),
            )
        ]
        self.queue_wait, self.run_time, self.total_time = (
            _child(family, (), LoopHistogram(_LATENCY_BUCKETS)) for family in histograms
        )
        r.register(
            _LoopCollector([admitted, rejected, self._responses, self._by_class, *histograms])
        )

    def response(self, status: int) -> None:
        """Count one scoring response."""
        children = self._codes.get(status)
        if children is None:
            by_class = (f"{min(max(status // 100, 1), 5)}xx",)
            known = self._by_class.children.get(by_class)
            children = (
                _child(self._responses, (str(status),), LoopCounter()),
                known
                if isinstance(known, LoopCounter)
                else _child(self._by_class, by_class, LoopCounter()),
            )
            self._codes[status] = children
        children[0].value += 1.0
        children[1].value += 1.0

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` on ``host:port`` from a background thread."""
        start_http_server(port, addr=host, registry=self.registry)


_C = TypeVar("_C", LoopCounter, LoopHistogram)


def _child(family: _LoopFamily, labels: tuple[str, ...], child: _C) -> _C:
    family.children[labels] = child
    return child
