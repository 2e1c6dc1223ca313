"""Application Insights (``enable_app_insights``): requests, dependencies, exceptions and the
scoring script's logs to Azure Monitor through OpenTelemetry.

Active only when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set. ``opentelemetry-sdk`` and
``azure-monitor-opentelemetry-exporter`` come with the ``azure`` extra and are imported only
then; without them the runtime refuses to start with one clear line.

Per finished scoring request the sampler decides first (:class:`RequestSampler`: a counter, a
clock read and a random number -- no OpenTelemetry object exists for a request that is not
exported); a kept request is appended to a bounded queue and a background thread builds its
spans. Sampling is adaptive by default, like the Application Insights SDKs: at most about
``max_items_per_second`` (5) requests per second and process are exported, each carrying its
sampling percentage (``_MS.sampleRate`` -> the envelope's ``sampleRate``, so the portal counts
every exported item ``100 / sampleRate`` times and request counts and rates stay right); a
fixed fraction (``1.0`` = every request) can be forced instead. Failed requests (status >= 500)
are always exported. Each exported request becomes:

* one SERVER span -> Application Insights *request* (name ``<METHOD> <route>``, result code,
  duration, success = status < 500) with properties ``request_id`` and ``run_ms``;
* in proxy mode a CLIENT child span for the upstream call -> HTTP *dependency* (score.py's own
  OpenTelemetry spans, if it makes any, use the same exporter);
* for a failed ``run()`` an ``exception`` event on the request -> *exception* telemetry.

Records of Python ``logging`` at ``INFO`` and above (score.py's loggers, and ``print()`` when the
runtime routes it to a logger) become *traces*; records carrying ``exc_info`` become
*exceptions*. Spans and logs leave in batches from the SDK's own threads.

Never recorded: request or response bodies, headers (so no ``Authorization`` key or token),
query strings. The resource carries ``service.name``, ``service.version`` and
``service.instance.id`` (the pod name), which Application Insights shows as cloud role,
application version and role instance.
"""

from __future__ import annotations

import builtins
import logging
import math
import random
import socket
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit, urlunsplit

from aksml.contract import APP_INSIGHTS_CONNECTION_STRING_ENV
from aksml.errors import WebserviceException

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger("aksml.telemetry")

PRINT_LOGGER: Final = "aksml.print"
"""Logger that receives score.py's ``print()`` output while Application Insights is on."""
REQUEST_ID_ATTRIBUTE: Final = "request_id"
"""Span attribute (Application Insights custom property) holding the x-request-id."""
SAMPLE_RATE_ATTRIBUTE: Final = "_MS.sampleRate"
"""Span attribute the Azure Monitor exporter turns into the envelope's ``sampleRate`` (percent
of requests the exported one stands for; its ``_SAMPLE_RATE_KEY``)."""
DEFAULT_MAX_ITEMS_PER_SECOND: Final = 5.0
"""Adaptive sampling target: requests exported per second and process (as the Application
Insights SDKs' adaptive sampling, ``MaxTelemetryItemsPerSecond``)."""
ADAPTIVE: Final = "adaptive"
"""The sample-rate setting that selects adaptive sampling (the default)."""
SampleRate = float | Literal["adaptive"]
"""A fixed fraction of requests to export (0-1), or ``"adaptive"``."""
_NO_EXPORT_LOGGERS: Final = (
    "azure",
    "opentelemetry",
    "urllib3",
    "uvicorn.access",
    "aksml.telemetry",
)
"""Loggers never exported as traces (the exporter's own HTTP logging would feed back)."""
_MISSING_EXTRA: Final = (
    f"{APP_INSIGHTS_CONNECTION_STRING_ENV} is set but Application Insights export needs the "
    "'azure' extra: pip install 'aksml[azure]'"
)


@dataclass(frozen=True, slots=True)
class FinishedRequest:
    """What telemetry needs to know about one finished scoring request (no bodies, no headers)."""

    request_id: str
    """The x-request-id sent back to the client."""
    method: str
    """HTTP method."""
    path: str
    """Request path without query string."""
    status: int
    """HTTP status sent."""
    started_at: float
    """Wall-clock start, seconds since the epoch."""
    total_ms: float
    """Arrival to response sent."""
    run_ms: float
    """Time in run() or the upstream call; 0 when scoring did not happen."""
    error: str | None = None
    """Why the request failed (None when it did not)."""
    sample_rate: float = 100.0
    """Sampling percentage this request was kept at (100: not sampled; the exported item
    counts ``100 / sample_rate`` requests)."""


_FALL_TIME_S: Final = 30.0
"""Time constant over which the adaptive sampler follows a falling request rate."""


class RequestSampler:
    """Decides, before anything is built, whether a finished request is exported and at which
    sampling percentage.

    ``"adaptive"`` (the default): the request rate is measured over short windows (0.1 s or 64
    requests, whichever ends first; rises are followed at once, falls smoothed with a 30 s
    time constant, as the SDKs raise their sampling percentage only slowly) and requests are
    kept with probability ``1 / ceil(rate / max_items_per_second)``, so about
    ``max_items_per_second`` are exported per second whatever the traffic, and every kept item
    stands for a whole number of requests. A fixed fraction keeps that fraction. Failed
    requests (a 5xx from ``run()``; the caller says so) are always kept (at 100 %). The
    per-request cost is a counter, a clock read, a comparison and, while sampling, one random
    number. Not thread-safe: call from one thread (the event loop).
    """

    def __init__(
        self,
        sample_rate: SampleRate = ADAPTIVE,
        *,
        max_items_per_second: float = DEFAULT_MAX_ITEMS_PER_SECOND,
        window_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        """Configure; raises ValueError for a rate outside 0-1 or a negative target."""
        if sample_rate != ADAPTIVE and not 0.0 <= float(sample_rate) <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1 or {ADAPTIVE!r}")
        if max_items_per_second <= 0:
            raise ValueError("max_items_per_second must be positive")
        self.adaptive = sample_rate == ADAPTIVE
        """Whether the fraction follows the request rate."""
        self.max_items_per_second = max_items_per_second
        """Adaptive target of exported requests per second."""
        self.ratio = 1.0 if self.adaptive else float(sample_rate)
        """Current probability of keeping a request (status < 500)."""
        self.percentage = 100.0 * self.ratio
        """Current sampling percentage recorded on kept items."""
        self.rate = 0.0
        """Smoothed request rate (requests/s) the adaptive ratio is derived from."""
        self._window_s = window_s
        # a window also ends after this many requests, so a burst after a quiet spell is
        # measured (and sampled) within a few dozen requests, not exported whole for 0.1 s
        self._window_count = 64 if self.adaptive else 2**62
        self._clock = clock
        self._rand = rand
        self._count = 0
        self._window_start = clock()
        self._window_end = self._window_start + window_s if self.adaptive else math.inf

    def sample(self, failed: bool = False) -> float:
        """The sampling percentage to export this request at; ``0.0``: do not export it.
        ``failed`` (a failed ``run()``): always exported."""
        self._count += 1
        if self._count >= self._window_count or self._clock() >= self._window_end:
            self._adapt()
        if failed:
            return 100.0
        ratio = self.ratio
        if ratio >= 1.0:
            return 100.0
        if ratio > 0.0 and self._rand() < ratio:
            return self.percentage
        return 0.0

    def _adapt(self) -> None:
        now = self._clock()
        elapsed = max(now - self._window_start, 1e-9)
        measured = self._count / elapsed
        # follow a rise at once (a burst must not be exported whole), a fall slowly (time
        # constant 30 s): a pause in the traffic does not re-open the gates for the next burst
        if measured > self.rate:
            self.rate = measured
        else:
            self.rate += (measured - self.rate) * (1.0 - math.exp(-elapsed / _FALL_TIME_S))
        self._count = 0
        self._window_start = now
        self._window_end = now + self._window_s
        if self.rate <= self.max_items_per_second:
            self.ratio, self.percentage = 1.0, 100.0
        else:
            keep_one_in = math.ceil(self.rate / self.max_items_per_second)
            self.ratio, self.percentage = 1.0 / keep_one_in, 100.0 / keep_one_in


def quiet_azure_sdk_logs() -> None:
    """Keep the Azure SDK's per-HTTP-call INFO logs (headers of every export or blob append)
    out of the runtime's output; warnings and errors still show."""
    for name in (
        "azure.core.pipeline.policies.http_logging_policy",
        "azure.monitor.opentelemetry.exporter",
        "azure.identity",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)


def _capture_print(logger: logging.Logger) -> Callable[..., None]:
    """Make ``print()`` to stdout/stderr from user code also log to ``logger``; return the
    original ``print``. Calls from aksml's own modules are not exported."""
    original = builtins.print

    def print_and_log(
        *values: object,
        sep: str | None = " ",
        end: str | None = "\n",
        file: Any = None,
        flush: bool = False,
    ) -> None:
        original(*values, sep=sep, end=end, file=file, flush=flush)
        if file is not None and file is not sys.stdout and file is not sys.stderr:
            return
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller == "aksml" or caller.startswith("aksml."):
            return
        text = (" " if sep is None else sep).join(str(v) for v in values)
        if text:
            logger.info(text)

    builtins.print = print_and_log
    return original


class _ExportFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        return not any(name == n or name.startswith(n + ".") for n in _NO_EXPORT_LOGGERS)


class Telemetry:
    """OpenTelemetry tracer and logger providers exporting to one Application Insights resource."""

    def __init__(
        self,
        connection_string: str,
        *,
        service_name: str,
        service_version: str,
        instance_id: str | None = None,
        upstream: str | None = None,
        capture_logs: bool = True,
        sample_rate: SampleRate = ADAPTIVE,
        max_items_per_second: float = DEFAULT_MAX_ITEMS_PER_SECOND,
        max_pending: int = 20_000,
    ) -> None:
        """Set up exporters and batch processors; raises WebserviceException without the extra."""
        try:
            from azure.monitor.opentelemetry.exporter import (
                AzureMonitorLogExporter,
                AzureMonitorTraceExporter,
            )
            from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
            from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            raise WebserviceException(_MISSING_EXTRA) from None
        quiet_azure_sdk_logs()
        try:
            trace_exporter = AzureMonitorTraceExporter(connection_string=connection_string)
            log_exporter = AzureMonitorLogExporter(connection_string=connection_string)
        except ValueError as exc:
            # the message names the bad part, never the key
            raise WebserviceException(
                f"invalid {APP_INSIGHTS_CONNECTION_STRING_ENV}: {exc}"
            ) from None
        self.resource_attributes: dict[str, str] = {
            "service.name": service_name,
            "service.version": service_version,
            "service.instance.id": instance_id or socket.gethostname(),
        }
        """Resource attributes on every exported item."""
        resource = Resource.create(self.resource_attributes)
        self.sampler = RequestSampler(sample_rate, max_items_per_second=max_items_per_second)
        """Decides which finished requests are exported (see :class:`RequestSampler`)."""
        # sampling is decided per request before any span exists, so the provider keeps all
        self.tracer_provider: TracerProvider = TracerProvider(resource=resource)
        """Provider of the runtime's spans (also installed as the global provider)."""
        self.tracer_provider.add_span_processor(
            BatchSpanProcessor(
                trace_exporter,
                max_queue_size=max(max_pending, 2048),
                schedule_delay_millis=1000,
                max_export_batch_size=512,
            )
        )
        self.dropped = 0
        """Finished requests not exported because the pending queue was full."""
        self._max_pending = max_pending
        self._pending: deque[FinishedRequest] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aksml-telemetry", daemon=True)
        self.logger_provider: LoggerProvider = LoggerProvider(resource=resource)
        """Provider of exported log records."""
        self.logger_provider.add_log_record_processor(BatchLogRecordProcessor(log_exporter))
        self._tracer = self.tracer_provider.get_tracer("aksml.runtime")
        self._upstream = upstream
        self._handler: logging.Handler | None = None
        if capture_logs:
            with warnings.catch_warnings():
                # the SDK handler is deprecated in favour of a package the extra does not carry
                warnings.simplefilter("ignore", DeprecationWarning)
                handler = LoggingHandler(level=logging.INFO, logger_provider=self.logger_provider)
            handler.addFilter(_ExportFilter())
            logging.getLogger().addHandler(handler)
            self._handler = handler
            self._print_logger = logging.getLogger(PRINT_LOGGER)
            self._print_logger.propagate = False  # already on the console: print() wrote it
            self._print_logger.setLevel(logging.INFO)
            self._print_logger.addHandler(handler)
            self._original_print = _capture_print(self._print_logger)
        self._install_global()
        self._thread.start()

    def _install_global(self) -> None:
        """Make score.py's own OpenTelemetry spans use this provider (first install wins)."""
        from opentelemetry import trace

        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            trace.set_tracer_provider(self.tracer_provider)

    def request(self, done: FinishedRequest) -> None:
        """Sample one finished scoring request and queue it when kept (see :meth:`enqueue`);
        a 5xx whose ``run()`` ran is always kept."""
        rate = self.sampler.sample(done.status >= 500 and done.run_ms > 0)
        if rate:
            self.enqueue(done if rate == done.sample_rate else replace(done, sample_rate=rate))

    def enqueue(self, done: FinishedRequest) -> None:
        """Queue a request already sampled (its ``sample_rate`` set); spans are built and
        exported by a background thread, so the request path pays one append (dropped and
        counted when the queue is full)."""
        if len(self._pending) >= self._max_pending:
            self.dropped += 1
            return
        self._pending.append(done)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._drain()

    def _drain(self) -> None:
        pending = self._pending
        while True:
            try:
                done = pending.popleft()
            except IndexError:
                return
            try:
                self._emit(done)
            except Exception:
                log.exception("telemetry: could not record request %s", done.request_id)

    def _emit(self, done: FinishedRequest) -> None:
        """One SERVER span (-> request), a CLIENT child in proxy mode (-> dependency), an
        exception event for a failed run() (-> exception)."""
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        start_ns = int(done.started_at * 1e9)
        end_ns = start_ns + int(done.total_ms * 1e6)
        attributes: dict[str, Any] = {
            "http.request.method": done.method,
            "url.path": done.path,
            "url.scheme": "http",
            "http.route": done.path,
            "http.response.status_code": done.status,
            REQUEST_ID_ATTRIBUTE: done.request_id,
            "run_ms": round(done.run_ms, 3),
        }
        if done.sample_rate < 100.0:
            attributes[SAMPLE_RATE_ATTRIBUTE] = done.sample_rate
        span = self._tracer.start_span(
            f"{done.method} {done.path}",
            kind=SpanKind.SERVER,
            attributes=attributes,
            start_time=start_ns,
        )
        if not span.is_recording():  # OTEL_TRACES_SAMPLER says so
            return
        if done.run_ms > 0 and self._upstream:
            self._dependency(trace.set_span_in_context(span), done, end_ns)
        if done.status >= 500:
            span.set_status(Status(StatusCode.ERROR, done.error or f"HTTP {done.status}"))
            if done.error:
                span.add_event(
                    "exception",
                    {
                        "exception.type": "ScoringError",
                        "exception.message": done.error,
                        REQUEST_ID_ATTRIBUTE: done.request_id,
                    },
                    timestamp=end_ns,
                )
        span.end(end_time=end_ns)

    def _dependency(self, parent: Any, done: FinishedRequest, end_ns: int) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        run_end = end_ns
        run_start = run_end - int(done.run_ms * 1e6)
        url = urlsplit(self._upstream or "")
        attributes: dict[str, Any] = {
            "http.request.method": "POST",
            "url.full": urlunsplit(url._replace(query="", fragment="")),
            "server.address": url.hostname or "",
            "server.port": url.port or (443 if url.scheme == "https" else 80),
            "http.response.status_code": done.status,
            REQUEST_ID_ATTRIBUTE: done.request_id,
        }
        if done.sample_rate < 100.0:
            attributes[SAMPLE_RATE_ATTRIBUTE] = done.sample_rate
        child = self._tracer.start_span(
            f"POST {url.path or '/'}",
            context=parent,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=run_start,
        )
        if done.status >= 500:
            child.set_status(Status(StatusCode.ERROR, done.error or f"HTTP {done.status}"))
        child.end(end_time=run_end)

    def flush(self, timeout_ms: int = 30_000) -> None:
        """Export everything queued so far."""
        self._drain()
        self.tracer_provider.force_flush(timeout_ms)
        self.logger_provider.force_flush(timeout_ms)

    def shutdown(self) -> None:
        """Flush and stop the exporters; detach the logging handler."""
        self._stop.set()
        self._thread.join(30)
        self._drain()
        if self._handler is not None:
            if builtins.print is not self._original_print:
                builtins.print = self._original_print
            logging.getLogger().removeHandler(self._handler)
            self._print_logger.removeHandler(self._handler)
            self._handler = None
        self.tracer_provider.shutdown()
        self.logger_provider.shutdown()


def telemetry_from_env(
    environ: Mapping[str, str],
    *,
    service_name: str,
    service_version: str,
    upstream: str | None = None,
    sample_rate: SampleRate = ADAPTIVE,
    max_items_per_second: float = DEFAULT_MAX_ITEMS_PER_SECOND,
) -> Telemetry | None:
    """A :class:`Telemetry` when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set, else None."""
    connection_string = environ.get(APP_INSIGHTS_CONNECTION_STRING_ENV, "").strip()
    if not connection_string:
        return None
    return Telemetry(
        connection_string,
        service_name=service_name,
        service_version=service_version,
        instance_id=environ.get("HOSTNAME") or None,
        upstream=upstream,
        sample_rate=sample_rate,
        max_items_per_second=max_items_per_second,
    )
