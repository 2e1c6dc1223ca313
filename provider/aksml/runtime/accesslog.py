"""Structured access log: one JSON line per finished scoring request on stdout.

Fields: ``time`` (UTC, ISO 8601, milliseconds), ``requestId``, ``method``, ``path``,
``status``, ``queueMs``, ``runMs``, ``totalMs`` and, for failures, ``error``. Never bodies,
headers, query strings, keys or tokens. Off unless ``--access-log`` / ``AKSML_ACCESS_LOG`` is set.

Cost on the request path: one formatted line appended to a queue (the time of day is formatted
once per second; strings are escaped by ``orjson``). A background thread writes what is queued
every ``flush_interval_s`` (0.2 s) in one write and one flush, instead of a write and a flush per
request; :meth:`AccessLog.close` writes the rest.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from typing import IO, Final

import orjson

ACCESS_LOGGER: Final = "aksml.access"
"""Name the access log goes by in the runtime's own log lines (it does not use ``logging``:
its lines go straight to the stream)."""


def _json(text: str) -> str:
    return orjson.dumps(text).decode()


class AccessLog:
    """Writes access-log lines to a stream (stdout by default)."""

    def __init__(self, stream: IO[str] | None = None, *, flush_interval_s: float = 0.2) -> None:
        """Start the writer thread for ``stream``."""
        self.stream = stream or sys.stdout
        """Where the lines go."""
        self.flush_interval_s = flush_interval_s
        """How often queued lines are written."""
        self._lines: deque[str] = deque()
        self._second = -1
        self._stamp = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aksml-access-log", daemon=True)
        self._thread.start()

    def request(
        self,
        *,
        request_id: str,
        method: str,
        path: str,
        status: int,
        started_at: float,
        queue_ms: float,
        run_ms: float,
        total_ms: float,
        error: str | None,
    ) -> None:
        """Log one finished request."""
        whole = int(started_at)
        if whole != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
            self._second = whole
        millis = min(int((started_at - whole) * 1e6 + 0.5) // 1000, 999)
        line = (
            f'{{"time":"{self._stamp}.{millis:03d}Z","requestId":{_json(request_id)},'
            f'"method":{_json(method)},"path":{_json(path)},"status":{status},'
            f'"queueMs":{round(queue_ms, 3)!r},"runMs":{round(run_ms, 3)!r},'
            f'"totalMs":{round(total_ms, 3)!r}'
        )
        if error:
            line += f',"error":{_json(error)}}}\n'
        else:
            line += "}\n"
        self._lines.append(line)

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            self._write()

    def _write(self) -> None:
        lines = self._lines
        batch: list[str] = []
        while True:
            try:
                batch.append(lines.popleft())
            except IndexError:
                break
        if batch:
            self.stream.write("".join(batch))
            self.stream.flush()

    def close(self) -> None:
        """Write every queued line and stop the writer thread."""
        self._stop.set()
        self._thread.join(10)
        self._write()
