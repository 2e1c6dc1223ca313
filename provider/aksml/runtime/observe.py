"""Wires observability into the server: builds the data collector, Application Insights
telemetry and the access log from the runtime's settings, hands their request observers to the
app, registers their metrics and flushes them at shutdown.

Nothing is built for a feature that is off, so with everything off the server gets no observer
and its request path does no extra work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aksml.runtime.accesslog import AccessLog
from aksml.runtime.datacollect import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    DataCollectionMetrics,
    DataCollector,
    build_collector,
    model_partition,
    models_from_dir,
)

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from prometheus_client import CollectorRegistry

    from aksml.runtime.telemetry import SampleRate, Telemetry

log = logging.getLogger("aksml.observe")

DEFAULT_SERVICE_NAME = "aksml"
"""Service name used for partitions and telemetry when none is configured."""


class FinishedRecord(Protocol):
    """A finished scoring request as the app reports it (``aksml.runtime.hooks.RequestRecord``)."""

    @property
    def request_id(self) -> str:
        """The x-request-id sent back."""

    @property
    def method(self) -> str:
        """HTTP method."""

    @property
    def path(self) -> str:
        """Request path."""

    @property
    def status(self) -> int:
        """HTTP status sent."""

    @property
    def input(self) -> bytes:
        """Request body."""

    @property
    def query(self) -> bytes:
        """Raw query string."""

    @property
    def output(self) -> bytes:
        """Response body."""

    @property
    def error(self) -> str | None:
        """Failure reason, None on success."""

    @property
    def started_at(self) -> float:
        """Wall-clock start (epoch seconds)."""

    @property
    def queue_ms(self) -> float:
        """Admission wait."""

    @property
    def run_ms(self) -> float:
        """Time in run(); 0 when run() was not called."""

    @property
    def total_ms(self) -> float:
        """Arrival to response sent."""


Observer = Callable[[FinishedRecord], None]
"""Called once per finished scoring request, on the event loop, after the response."""


@dataclass(frozen=True)
class ObservabilityConfig:
    """The settings observability needs (taken from ``RuntimeSettings``)."""

    service_name: str | None = None
    """Service name (partitions, cloud role); ``aksml`` when None."""
    service_version: str | None = None
    """Service version for telemetry; default: the model versions, else ``1.0``."""
    model_dir: str | None = None
    """AZUREML_MODEL_DIR (model names/versions)."""
    collect_model_data: bool = False
    """collect_model_data."""
    data_collection_dir: str | None = None
    """Directory sink."""
    data_collection_blob_url: str | None = None
    """Azure Blob sink."""
    data_collection_sample_rate: float = 1.0
    """Fraction of requests collected."""
    data_collection_max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    """Largest payload kept per record."""
    data_collection_buffer_bytes: int = DEFAULT_BUFFER_BYTES
    """Buffer bound before records are dropped."""
    data_collection_flush_ms: int = 1000
    """Writer interval."""
    access_log: bool = False
    """One JSON line per request on stdout."""
    app_insights_sample_rate: SampleRate = "adaptive"
    """Requests exported to Application Insights: ``"adaptive"`` (about
    ``app_insights_max_items_per_second`` per second) or a fixed fraction (1 = every request)."""
    app_insights_max_items_per_second: float = 5.0
    """Adaptive sampling target (exported requests per second and process)."""
    upstream: str | None = None
    """Proxy-mode upstream (its calls are HTTP dependencies in telemetry)."""


def service_identity(
    service_name: str | None, service_version: str | None, model_dir: str | None
) -> tuple[str, str]:
    """``(name, version)`` reported to telemetry: the configured values, else ``aksml`` and the
    model versions (``1.0`` without a model directory)."""
    models = models_from_dir(model_dir)
    version = service_version or (model_partition(models)[1] if models else "1.0")
    return service_name or DEFAULT_SERVICE_NAME, version


def _was_rejected(record: FinishedRecord) -> bool:
    """Refused before run() (queue timeout or draining): nothing was scored."""
    return record.status == 503 and record.run_ms == 0


class Observability:
    """The enabled observability features of one server process."""

    def __init__(
        self,
        *,
        collector: DataCollector | None = None,
        telemetry: Telemetry | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        """Hold already-built features (see :meth:`from_config`)."""
        self.collector = collector
        """Model data collector, when collect_model_data is on."""
        self.telemetry = telemetry
        """Application Insights exporter, when the connection string is set."""
        self.access_log = access_log
        """Access log, when enabled."""

    @classmethod
    def from_config(cls, config: ObservabilityConfig, environ: Mapping[str, str]) -> Observability:
        """Build what the settings switch on; raises WebserviceException on bad settings."""
        service, version = service_identity(
            config.service_name, config.service_version, config.model_dir
        )
        collector = None
        if config.collect_model_data:
            collector = build_collector(
                service=service,
                model_dir=config.model_dir,
                directory=config.data_collection_dir,
                blob_url=config.data_collection_blob_url,
                sample_rate=config.data_collection_sample_rate,
                max_record_bytes=config.data_collection_max_record_bytes,
                buffer_bytes=config.data_collection_buffer_bytes,
                flush_interval_s=config.data_collection_flush_ms / 1000.0,
            )
        from aksml.runtime.telemetry import telemetry_from_env

        telemetry = telemetry_from_env(
            environ,
            service_name=service,
            service_version=version,
            upstream=config.upstream,
            sample_rate=config.app_insights_sample_rate,
            max_items_per_second=config.app_insights_max_items_per_second,
        )
        access_log = AccessLog() if config.access_log else None
        return cls(collector=collector, telemetry=telemetry, access_log=access_log)

    @property
    def observers(self) -> list[Observer]:
        """The request observer when any feature is on (one call per request serves them
        all), else an empty list."""
        enabled: list[Observer] = []
        if self.access_log is not None:
            enabled.append(self._log_access)
        if self.telemetry is not None:
            enabled.append(self._send_telemetry)
        if self.collector is not None:
            enabled.append(self._collect)
        # one feature: its own method (one call less per request); several: one dispatcher
        return enabled if len(enabled) <= 1 else [self._observe]

    def _observe(self, record: FinishedRecord) -> None:
        # each feature guarded on its own: one failing must not starve the others
        if self.access_log is not None:
            try:
                self._log_access(record)
            except Exception:
                log.exception("access log failed for request %s", record.request_id)
        if self.telemetry is not None:
            try:
                self._send_telemetry(record)
            except Exception:
                log.exception("telemetry failed for request %s", record.request_id)
        if self.collector is not None:
            try:
                self._collect(record)
            except Exception:
                log.exception("data collection failed for request %s", record.request_id)

    def _collect(self, record: FinishedRecord) -> None:
        collector = self.collector
        status = record.status
        if collector is None or (status == 503 and record.run_ms == 0):  # refused: not scored
            return
        data = record.input
        if not data and record.method == "GET":
            data = record.query
        collector.offer(record.request_id, data, record.output, status, record.started_at)

    def _send_telemetry(self, record: FinishedRecord) -> None:
        telemetry = self.telemetry
        if telemetry is None:
            return
        status = record.status
        # a failed run() is always exported; a refusal (503 before run()) is sampled like a 200
        failed = status >= 500 and not _was_rejected(record)
        rate = telemetry.sampler.sample(failed)
        if rate:
            from aksml.runtime.telemetry import FinishedRequest

            telemetry.enqueue(
                FinishedRequest(
                    request_id=record.request_id,
                    method=record.method,
                    path=record.path,
                    status=status,
                    started_at=record.started_at,
                    total_ms=record.total_ms,
                    run_ms=record.run_ms,
                    error=record.error,
                    sample_rate=rate,
                )
            )

    def _log_access(self, record: FinishedRecord) -> None:
        if self.access_log is not None:
            self.access_log.request(
                request_id=record.request_id,
                method=record.method,
                path=record.path,
                status=record.status,
                started_at=record.started_at,
                queue_ms=record.queue_ms,
                run_ms=record.run_ms,
                total_ms=record.total_ms,
                error=record.error,
            )

    def start(self) -> None:
        """Start background writers.

        With Application Insights on, the objects that exist now (chiefly the ~30 000 the
        OpenTelemetry and Azure SDK modules bring) are moved out of the garbage collector's
        reach (``gc.freeze()``): they live as long as the process, and every full collection
        would otherwise walk them again -- about 20 ms of CPU a second at thousands of
        requests per second.
        """
        if self.collector is not None:
            self.collector.start()
        if self.telemetry is not None:
            import gc

            gc.freeze()

    def register_metrics(self, registry: CollectorRegistry) -> None:
        """Add the features' metric families to the runtime's registry."""
        if self.collector is not None:
            registry.register(DataCollectionMetrics(self.collector))

    def close(self) -> None:
        """Flush everything buffered (collected data, telemetry, log lines); call once, after
        the last request finished."""
        if self.collector is not None:
            self.collector.close()
            stats = self.collector.stats
            log.info(
                "model data collection: %d records written, dropped %s",
                stats.written,
                {k: v for k, v in stats.dropped.items() if v} or "none",
            )
        if self.telemetry is not None:
            self.telemetry.shutdown()
            import gc

            gc.unfreeze()  # undo start()'s freeze (a no-op when nothing is frozen)
        if self.access_log is not None:
            self.access_log.close()
