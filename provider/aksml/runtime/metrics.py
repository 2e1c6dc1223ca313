"""Prometheus metrics of the scoring runtime, served on their own port.

Labels are bounded: rejection ``reason`` is one of :data:`REJECT_REASONS`, response ``code`` is
an HTTP status (at most ~60 values). Gauges read the admission gate at scrape time, so they
cost nothing per request.

The metrics port is served by the runtime's own HTTP/1.1 protocol
(:mod:`aksml.runtime.httpproto`) on the event loop, with the scoring port's limits (head size
and timeouts, idle keep-alive timeout, client-not-reading timeout) plus a cap on open
connections (:data:`METRICS_MAX_CONNECTIONS`); the exposition is rendered on one dedicated
thread, so a scrape never stalls the event loop and idle connections cost no thread.

The per-request counters and histograms are plain numbers updated on the event loop (the only
thread that touches them) and turned into Prometheus families at scrape time by a collector:
``prometheus_client``'s own Counter/Histogram take a lock per update and search buckets in
Python, ~9 locked updates (~10 µs) per request. The exposition is the same (``_total``,
``_created``, cumulative ``_bucket`` series).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Final, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

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


_C = TypeVar("_C", LoopCounter, LoopHistogram)


def _child(family: _LoopFamily, labels: tuple[str, ...], child: _C) -> _C:
    family.children[labels] = child
    return child
