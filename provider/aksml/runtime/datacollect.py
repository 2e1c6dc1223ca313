"""Model data collection (``collect_model_data``): every scored request's input and prediction
(or error) as JSON lines, written off the request path.

The request path calls :meth:`DataCollector.offer` -- a sampling check, a bounded slice of the
body bytes and one append to an in-memory buffer under a lock. Serialisation, partitioning and
storage happen in one background writer thread that wakes every ``flush_interval_s`` seconds
(or when the buffer is half full) and hands each partition's new lines to a :class:`Sink`
in one call.

Layout (like AML v1's ``<webservice>/<model>/<version>/<designation>/<yyyy>/<mm>/<dd>/``)::

    <service>/<model>/<version>/inputs/<yyyy>/<mm>/<dd>/data-<HH>-<writer>.jsonl
    <service>/<model>/<version>/predictions/<yyyy>/<mm>/<dd>/data-<HH>-<writer>.jsonl

``<HH>`` is the UTC hour of the request (one file per hour keeps an Azure append blob far under
its 50 000-block limit at one block per flush), ``<writer>`` is ``<hostname>-<pid>`` so that
replicas sharing one volume or container never write the same file. Several models in one
service: ``<model>`` and ``<version>`` are the names and versions joined with ``+``; no model
directory: ``unknown/0``.

Backpressure: the buffer is bounded in bytes. When the sink is slower than the traffic and the
buffer is full, new records are **dropped and counted** (``dropped["buffer_full"]``) -- scoring
latency never depends on storage. A batch the sink fails to store (after the Azure SDK's own
retries) is dropped and counted as ``dropped["sink_error"]``. :meth:`DataCollector.close`
stops accepting, drains the buffer completely into the sink and closes it (SIGTERM path).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

import orjson

from aksml.errors import WebserviceException

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from prometheus_client import Metric

log = logging.getLogger("aksml.datacollect")

INPUTS: Final = "inputs"
"""Designation (directory) of request input records."""
PREDICTIONS: Final = "predictions"
"""Designation (directory) of prediction / error records."""
DEFAULT_MAX_RECORD_BYTES: Final = 1024 * 1024
"""Largest payload kept per record; longer input/prediction bodies are truncated with a marker."""
DEFAULT_BUFFER_BYTES: Final = 64 * 1024 * 1024
"""Bound of the in-memory buffer (payload bytes); records beyond it are dropped and counted."""
DEFAULT_FLUSH_INTERVAL_S: Final = 1.0
"""How often the writer thread hands buffered records to the sink."""
DROP_REASONS: Final = ("buffer_full", "sink_error", "closed")
"""Every value of the ``reason`` of a dropped record (a bounded metric label)."""

_VERSION_RE = re.compile(r"^\d+$")
_SAMPLE_SCALE = 10_000


@dataclass(frozen=True)
class ModelRef:
    """One registered model served by the service."""

    name: str
    """Model name (the directory under ``azureml-models``)."""
    version: str
    """Model version (the numeric directory under the model name)."""


def models_from_dir(model_dir: str | None) -> tuple[ModelRef, ...]:
    """The models in ``AZUREML_MODEL_DIR``, as AML lays them out.

    One model: the directory itself is ``…/<name>/<version>``. Several models: it holds
    ``<name>/<version>/`` sub-directories. Anything else: no models (empty tuple).
    """
    if not model_dir:
        return ()
    path = Path(model_dir.rstrip("/"))
    if _VERSION_RE.match(path.name) and path.parent.name:
        return (ModelRef(path.parent.name, path.name),)
    if not path.is_dir():
        return ()
    found: list[ModelRef] = []
    for child in sorted(p for p in path.iterdir() if p.is_dir()):
        versions = sorted(
            (v.name for v in child.iterdir() if v.is_dir() and _VERSION_RE.match(v.name)),
            key=int,
        )
        found.extend(ModelRef(child.name, v) for v in versions)
    return tuple(found)


def model_partition(models: Sequence[ModelRef]) -> tuple[str, str]:
    """The ``(<model>, <version>)`` path segments for a service's models."""
    if not models:
        return ("unknown", "0")
    return ("+".join(m.name for m in models), "+".join(m.version for m in models))


def _segment(text: str) -> str:
    """A safe single path segment (no separators, no dot-dot)."""
    cleaned = re.sub(r"[^A-Za-z0-9._+=-]", "_", text).strip(".")
    return cleaned or "_"


class Sink(Protocol):
    """Where collected JSON lines go: appends to named objects under one root."""

    def append(self, path: str, data: bytes) -> None:
        """Append ``data`` (whole JSON lines) to the object ``path`` (``/``-separated)."""

    def close(self) -> None:
        """Release resources; called once after the last append."""

    def describe(self) -> str:
        """A short, secret-free description for logs."""


class DirectorySink:
    """Appends to files under a directory (a mounted volume: emptyDir, Azure Files, a PVC)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Create the sink; the root directory is created when missing."""
        self.root = Path(root)
        """Directory that receives the partition tree."""
        self.root.mkdir(parents=True, exist_ok=True)

    def append(self, path: str, data: bytes) -> None:
        """Append to ``<root>/<path>``, creating parent directories."""
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def close(self) -> None:
        """Nothing is held open between appends."""

    def describe(self) -> str:
        """The directory path."""
        return f"directory {self.root}"


_Pending = tuple[float, str, int, bytes, int, "bytes | None", int]
"""One request as the request path hands it over (raw bytes; serialised by the writer):
``(time, request_id, status, input, input_size, output, output_size)`` -- a plain tuple, the
cheapest thing to build on the request path."""
_RECORD_OVERHEAD: Final = 256
"""Bytes counted per buffered request on top of its payloads (buffer bound)."""


@dataclass
class CollectorStats:
    """Counters of a :class:`DataCollector` (read by the Prometheus collector)."""

    offered: int = 0
    """Requests handed to :meth:`DataCollector.offer` and kept by sampling."""
    written: int = 0
    """Records (input + prediction lines) stored by the sink."""
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    """Requests dropped, by reason (see :data:`DROP_REASONS`)."""
    truncated: int = 0
    """Payloads cut to the maximum record size."""
    batches: int = 0
    """Successful sink appends."""


def _fragment(raw: bytes, size: int, key: bytes) -> tuple[bytes, bool]:
    """``"<key>":<value>`` (plus markers) for one payload, and whether it was truncated.

    Valid JSON is embedded as sent (only its CR/LF whitespace turned into spaces, so the line
    stays one line) -- validated by ``orjson`` (strict JSON: no ``NaN``), never re-encoded;
    other UTF-8 text becomes a JSON string; anything else base64 with
    ``"<key>Encoding": "base64"``. A truncated payload keeps its first bytes as a string plus
    ``"<key>Truncated": {"originalBytes", "keptBytes"}``.
    """
    name = b'"' + key + b'":'
    if len(raw) < size:
        text = raw.decode("utf-8", errors="replace")
        marker = b',"%sTruncated":{"originalBytes":%d,"keptBytes":%d}' % (key, size, len(raw))
        return name + _string(text) + marker, True
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        return name + raw.replace(b"\r", b" ").replace(b"\n", b" "), False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        encoded = base64.b64encode(raw)
        return name + b'"' + encoded + b'","' + key + b'Encoding":"base64"', False
    return name + _string(text), False


def _string(text: str) -> bytes:
    """``text`` as a JSON string (UTF-8, not ASCII-escaped)."""
    return orjson.dumps(text)


class _SlowPath(Exception):
    """Internal: a payload that needs :func:`_fragment` (not plain valid single-line JSON)."""


_INPUT_KEY: Final = b"input"
_PREDICTION_KEY: Final = b"prediction"
_ERROR_KEY: Final = b"error"


class DataCollector:
    """Buffers scored requests and writes them as partitioned JSON lines in the background."""

    def __init__(
        self,
        sink: Sink,
        *,
        service: str,
        models: Sequence[ModelRef] = (),
        sample_rate: float = 1.0,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        writer_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Configure the collector; call :meth:`start` before offering records."""
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be between 0 and 1, got {sample_rate}")
        if max_record_bytes < 1 or buffer_bytes < 1:
            raise ValueError("max_record_bytes and buffer_bytes must be positive")
        self.sink = sink
        """The storage behind the collector."""
        self.service = service
        """Service name (first partition segment and a field of every record)."""
        self.models = tuple(models)
        """Models recorded in every record."""
        self.sample_rate = sample_rate
        """Fraction of requests kept (decided from the request id, so reproducible)."""
        self.max_record_bytes = max_record_bytes
        """Largest input or prediction payload kept per record."""
        self.buffer_bytes = buffer_bytes
        """Bound of the in-memory buffer."""
        self.flush_interval_s = flush_interval_s
        """Writer wake-up interval."""
        self.writer_id = _segment(writer_id or f"{socket.gethostname()}-{os.getpid()}")
        """File-name suffix unique to this process."""
        self.stats = CollectorStats()
        """Counters (updated under the buffer lock or by the writer thread)."""
        self._clock = clock
        self._prefix = "/".join(_segment(s) for s in (service, *model_partition(self.models)))
        models_json = [{"name": m.name, "version": m.version} for m in self.models]
        self._common = b',"service":' + _string(service) + b',"models":' + orjson.dumps(models_json)
        self._paths: dict[tuple[str, int], str] = {}
        self._threshold = round(sample_rate * _SAMPLE_SCALE)
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        self._cond = threading.Condition(threading.Lock())
        self._closing = False
        self._urgent = False
        self._thread: threading.Thread | None = None

    # -- request path -------------------------------------------------------------------------

    def sampled(self, request_id: str) -> bool:
        """Whether the request with this id is kept (crc32 of the id against the rate)."""
        if self._threshold >= _SAMPLE_SCALE:
            return True
        return zlib.crc32(request_id.encode()) % _SAMPLE_SCALE < self._threshold

    def offer(
        self,
        request_id: str,
        input: bytes,
        output: bytes | None,
        status: int,
        at: float | None = None,
    ) -> bool:
        """Hand over one finished request; never blocks on storage.

        ``output`` is the response body (prediction or error message; None when there is
        none). Returns False when the request is not collected (sampled out, buffer full or
        collector closed); drops are counted in :attr:`stats`.
        """
        if self._threshold < _SAMPLE_SCALE and not self.sampled(request_id):
            return False
        limit = self.max_record_bytes
        input_size = len(input)
        if input_size > limit:
            input = input[:limit]
        if output is None:
            output_size = 0
        else:
            output_size = len(output)
            if output_size > limit:
                output = output[:limit]
        weight = min(input_size, limit) + min(output_size, limit) + _RECORD_OVERHEAD
        item = (
            self._clock() if at is None else at,
            request_id,
            status,
            input,
            input_size,
            output,
            output_size,
        )
        with self._cond:
            if self._closing:
                self.stats.dropped["closed"] += 1
                return False
            if self._pending_bytes + weight > self.buffer_bytes:
                self.stats.dropped["buffer_full"] += 1
                return False
            self.stats.offered += 1
            self._pending.append(item)
            self._pending_bytes += weight
            if self._pending_bytes * 2 > self.buffer_bytes and not self._urgent:
                self._urgent = True
                self._cond.notify()
        return True

    @property
    def queue_depth(self) -> int:
        """Requests waiting in the buffer."""
        return len(self._pending)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background writer thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="aksml-datacollect", daemon=True)
            self._thread.start()
            log.info("model data collection to %s", self.sink.describe())

    def close(self, timeout: float | None = 30.0) -> None:
        """Stop accepting records, write everything buffered, close the sink."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        else:
            self._drain()
        self.sink.close()

    def flush(self) -> None:
        """Write what is buffered now, in the calling thread (tests and shutdown)."""
        self._drain()

    # -- writer thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._closing and not self._urgent:
                    self._cond.wait(self.flush_interval_s)
                self._urgent = False
                closing = self._closing
            self._drain()
            if closing:
                return

    def _take(self) -> list[_Pending]:
        with self._cond:
            batch = self._pending
            self._pending = []
            self._pending_bytes = 0
        return batch

    def _drain(self) -> None:
        batch = self._take()
        if not batch:
            return
        # one list of byte pieces per partition file, joined once per append
        files: dict[str, tuple[str, list[bytes]]] = {}
        hour = -1
        inputs: list[bytes] = []
        predictions: list[bytes] = []
        second = -1
        stamp_head = b""
        common = self._common
        truncated = 0
        fragment = _fragment
        loads = orjson.loads
        dumps = orjson.dumps
        decode_error = orjson.JSONDecodeError
        for at, request_id, status, raw_in, in_size, raw_out, out_size in batch:
            whole = int(at)
            if whole != second:
                second = whole
                stamp_head = (
                    b'{"time":"' + time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)).encode()
                )
                if whole // 3600 != hour:
                    hour = whole // 3600
                    inputs = self._file(files, INPUTS, hour)
                    predictions = self._file(files, PREDICTIONS, hour)
            head = b'%s.%06dZ","requestId":%s%s,' % (
                stamp_head,
                min(int((at - whole) * 1e6 + 0.5), 999_999),
                dumps(request_id),
                common,
            )
            # fast path (inlined): a complete payload that is valid JSON is embedded as sent,
            # its CR/LF whitespace turned into spaces (bytes.replace returns the same object
            # when there is none -- far cheaper than testing with `in`)
            try:
                if in_size != len(raw_in):
                    raise _SlowPath
                loads(raw_in)
            except (_SlowPath, decode_error):
                body, cut = fragment(raw_in, in_size, _INPUT_KEY)
                truncated += cut
                inputs += (head, body, b"}\n")
            else:
                raw_in = raw_in.replace(b"\r", b" ").replace(b"\n", b" ")
                inputs += (head, b'"input":', raw_in, b"}\n")
            if status == 200:
                key, name = _PREDICTION_KEY, b'"status":200,"prediction":'
            elif 200 <= status < 300:
                key, name = _PREDICTION_KEY, b'"status":%d,"prediction":' % status
            else:
                key, name = _ERROR_KEY, b'"status":%d,"error":' % status
            if raw_out is None:
                predictions += (head, name, b"null}\n")
                continue
            try:
                if out_size != len(raw_out):
                    raise _SlowPath
                loads(raw_out)
            except (_SlowPath, decode_error):
                body, cut = fragment(raw_out, out_size, key)
                truncated += cut
                predictions += (head, b'"status":%d,' % status, body, b"}\n")
            else:
                raw_out = raw_out.replace(b"\r", b" ").replace(b"\n", b" ")
                predictions += (head, name, raw_out, b"}\n")
        if truncated:
            self.stats.truncated += truncated
        for path, (designation, pieces) in files.items():
            data = b"".join(pieces)
            lines = data.count(b"\n")  # every record is exactly one line
            try:
                self.sink.append(path, data)
            except Exception:
                # count requests once: by their input lines
                if designation == INPUTS:
                    self.stats.dropped["sink_error"] += lines
                log.exception("model data collection: %s failed for %s", self.sink.describe(), path)
            else:
                self.stats.written += lines
                self.stats.batches += 1

    def _file(
        self, files: dict[str, tuple[str, list[bytes]]], designation: str, hour: int
    ) -> list[bytes]:
        """The line list of one partition file in this drain (created on first use)."""
        path = self._path(designation, hour)
        entry = files.get(path)
        if entry is None:
            entry = files[path] = (designation, [])
        return entry[1]

    def _path(self, designation: str, hour: int) -> str:
        """Partition file of one designation and UTC hour (hours since the epoch); cached."""
        key = (designation, hour)
        path = self._paths.get(key)
        if path is None:
            moment = datetime.fromtimestamp(hour * 3600, UTC)
            path = (
                f"{self._prefix}/{designation}/{moment:%Y/%m/%d}/"
                f"data-{moment:%H}-{self.writer_id}.jsonl"
            )
            if len(self._paths) > 64:
                self._paths.clear()
            self._paths[key] = path
        return path


class DataCollectionMetrics:
    """Prometheus collector reading a :class:`DataCollector`'s counters at scrape time (so the
    request path pays nothing for them). Register with ``registry.register(...)``."""

    def __init__(self, collector: DataCollector) -> None:
        """Expose ``collector``'s stats."""
        self.collector = collector
        """The data collector whose counters are exported."""

    def collect(self) -> Iterator[Metric]:
        """Yield the data-collection metric families."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        stats = self.collector.stats
        written = CounterMetricFamily(
            "aksml_data_collection_records_written",
            "Collected records (input and prediction lines) stored by the sink.",
            value=stats.written,
        )
        dropped = CounterMetricFamily(
            "aksml_data_collection_dropped",
            "Scored requests whose data was not stored, by reason.",
            labels=["reason"],
        )
        for reason in DROP_REASONS:
            dropped.add_metric([reason], stats.dropped[reason])
        truncated = CounterMetricFamily(
            "aksml_data_collection_truncated",
            "Collected payloads cut to the maximum record size.",
            value=stats.truncated,
        )
        depth = GaugeMetricFamily(
            "aksml_data_collection_queue_depth",
            "Scored requests waiting in the data-collection buffer.",
            value=self.collector.queue_depth,
        )
        yield from (written, dropped, truncated, depth)


def build_collector(
    *,
    service: str,
    model_dir: str | None,
    directory: str | None,
    blob_url: str | None,
    sample_rate: float = 1.0,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    buffer_bytes: int = DEFAULT_BUFFER_BYTES,
    flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
) -> DataCollector:
    """A :class:`DataCollector` for one sink: a directory or an Azure Blob container URL.

    Raises :class:`WebserviceException` unless exactly one sink is given.
    """
    from aksml.contract import DATA_COLLECTION_BLOB_URL, DATA_COLLECTION_DIR

    if bool(directory) == bool(blob_url):
        raise WebserviceException(
            f"collect_model_data needs exactly one of {DATA_COLLECTION_DIR.flag} "
            f"({DATA_COLLECTION_DIR.env}) or {DATA_COLLECTION_BLOB_URL.flag} "
            f"({DATA_COLLECTION_BLOB_URL.env})"
        )
    sink: Sink
    if directory:
        sink = DirectorySink(directory)
    else:
        from aksml.runtime.datacollect_blob import blob_sink_from_url

        sink = blob_sink_from_url(str(blob_url))
    return DataCollector(
        sink,
        service=service,
        models=models_from_dir(model_dir),
        sample_rate=sample_rate,
        max_record_bytes=max_record_bytes,
        buffer_bytes=buffer_bytes,
        flush_interval_s=flush_interval_s,
    )
