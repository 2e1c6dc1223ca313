"""Prometheus metrics of the scoring runtime, served on their own port.

Labels are bounded: rejection ``reason`` is one of :data:`REJECT_REASONS`, response ``code`` is
an HTTP status (at most ~60 values). Gauges read the admission gate at scrape time, so they
cost nothing per request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

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
        self.admitted = Counter(
            "aksml_requests_admitted", "Scoring requests that got an admission slot.", registry=r
        )
        rejected = Counter(
            "aksml_requests_rejected",
            "Scoring requests refused before run(), by reason.",
            ["reason"],
            registry=r,
        )
        self.rejected = {reason: rejected.labels(reason) for reason in REJECT_REASONS}
        self._responses = Counter(
            "aksml_responses", "Scoring responses by HTTP status.", ["code"], registry=r
        )
        self._by_class = Counter(
            "aksml_responses_by_class",
            "Scoring responses by HTTP status class (2xx, 3xx, 4xx, 5xx).",
            ["class"],
            registry=r,
        )
        self._codes: dict[int, tuple[Counter, Counter]] = {}
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
        self.queue_wait = Histogram(
            "aksml_queue_wait_seconds",
            "Time admitted requests waited for a slot.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.run_time = Histogram(
            "aksml_run_seconds",
            "Time in run() (or the upstream call in proxy mode).",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.total_time = Histogram(
            "aksml_request_duration_seconds",
            "Scoring request time from arrival to response.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

    def response(self, status: int) -> None:
        """Count one scoring response."""
        children = self._codes.get(status)
        if children is None:
            children = (
                self._responses.labels(str(status)),
                self._by_class.labels(f"{min(max(status // 100, 1), 5)}xx"),
            )
            self._codes[status] = children
        children[0].inc()
        children[1].inc()

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` on ``host:port`` from a background thread."""
        start_http_server(port, addr=host, registry=self.registry)
