"""Structured access log: one JSON line per finished scoring request on stdout.

Fields: ``time`` (UTC, ISO 8601), ``requestId``, ``method``, ``path``, ``status``,
``queueMs``, ``runMs``, ``totalMs`` and, for failures, ``error``. Never bodies, headers, query
strings, keys or tokens. Off unless ``--access-log`` / ``AKSML_ACCESS_LOG`` is set (then the
cost is one ``json.dumps`` and one write per request, on the event loop after the response).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Final

ACCESS_LOGGER: Final = "aksml.access"
"""Logger name of the access log (does not propagate to the root logger)."""


class AccessLog:
    """Writes access-log lines to a stream (stdout by default)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        """Attach a plain handler to the ``aksml.access`` logger."""
        self.logger = logging.getLogger(ACCESS_LOGGER)
        """The access logger (INFO, not propagated, message = the JSON line)."""
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self._handler = logging.StreamHandler(stream or sys.stdout)
        self._handler.setFormatter(logging.Formatter("%(message)s"))
        self.logger.addHandler(self._handler)

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
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(started_at, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "requestId": request_id,
            "method": method,
            "path": path,
            "status": status,
            "queueMs": round(queue_ms, 3),
            "runMs": round(run_ms, 3),
            "totalMs": round(total_ms, 3),
        }
        if error:
            line["error"] = error
        self.logger.info(json.dumps(line, separators=(",", ":")))

    def close(self) -> None:
        """Flush and detach the handler."""
        self._handler.flush()
        self.logger.removeHandler(self._handler)
