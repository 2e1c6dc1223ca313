"""Prometheus metrics of the scoring runtime, served on their own port.

Labels are bounded: rejection ``reason`` is one of :data:`REJECT_REASONS`, response ``code`` is
an HTTP status (at most ~60 values). Gauges read the admission gate at scrape time, so they
cost nothing per request.

The metrics port is served by the runtime's own HTTP/1.1 protocol
(:mod:`aksml.runtime.httpproto`) on the event loop, with the scoring port's limits (head size
and timeouts, idle keep-alive timeout, client-not-reading timeout) plus a cap on open
connections (:data:`METRICS_MAX_CONNECTIONS`); the exposition is rendered on one dedicated
thread, so a scrape never stalls the event loop and idle connections cost no thread.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

from aksml import contract as c
from aksml.runtime.httpproto import HttpRequest, HttpServer, Response

METRICS_MAX_CONNECTIONS: Final = 32
"""Open connections the metrics port accepts at once (Prometheus keeps one per target; the
rest is room for probes and people); past it a new connection is closed at once."""
METRICS_RESPONSE_TIMEOUT_S: Final = 30.0
"""Backstop for one rendering of the exposition."""

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

    async def serve(self, host: str, port: int) -> HttpServer:
        """Serve :data:`~aksml.contract.METRICS_PATH` on ``host:port``; returns the server (stop
        it with :meth:`HttpServer.shutdown`)."""
        server = HttpServer(
            _MetricsApp(self.registry),
            max_connections=METRICS_MAX_CONNECTIONS,
            response_timeout_s=METRICS_RESPONSE_TIMEOUT_S,
        )
        await server.start(host, port)
        return server


def _json(status: int, message: str) -> Response:
    return (
        status,
        [(b"content-type", b"application/json")],
        json.dumps({"message": message}).encode(),
    )


class _MetricsApp:
    """``GET``/``HEAD`` :data:`~aksml.contract.METRICS_PATH`: the registry in the format the
    ``Accept`` header asks for (Prometheus text or OpenMetrics), gzipped when accepted -- what
    ``prometheus_client``'s own server does."""

    max_body_bytes = 0

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aksml-metrics")

    def dispatch(self, request: HttpRequest) -> Response | asyncio.Future[Response]:
        if request.path != c.METRICS_PATH:
            return _json(404, f"Not found; metrics are at {c.METRICS_PATH}.")
        if request.method not in ("GET", "HEAD"):
            return _json(405, "Method not allowed.")
        accept = encoding = b""
        for name, value in request.headers:
            if name == b"accept":
                accept = value
            elif name == b"accept-encoding":
                encoding = value
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(
            self.renderer, self._render, accept.decode("latin-1"), b"gzip" in encoding.lower()
        )

    def _render(self, accept: str, gzipped: bool) -> Response:
        encoder, content_type = choose_encoder(accept)
        body = encoder(self.registry)
        headers = [(b"content-type", content_type.encode())]
        if gzipped:
            body = gzip.compress(body)
            headers.append((b"content-encoding", b"gzip"))
        return 200, headers, body
