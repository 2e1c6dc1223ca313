"""The one place a finished scoring request is known in full: :class:`RequestRecord`.

Observers (data collection, telemetry) are callables registered on the app; each is called once
per finished scoring request, on the event loop, once its response is final (just before it is
written). They must be quick (queue the record and return) and must not modify it; an observer
that raises is logged and otherwise ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class RequestRecord:
    """A finished scoring request (not frozen: a frozen dataclass costs about 1 µs more to
    build, on every request; observers treat it as read-only)."""

    request_id: str
    """The x-request-id sent back to the client."""
    method: str
    """HTTP method."""
    path: str
    """Request path (``/score`` or the AML path)."""
    status: int
    """HTTP status sent."""
    input: bytes
    """Request body as received (for GET: empty)."""
    query: bytes
    """Raw query string."""
    output: bytes
    """Response body sent (JSON)."""
    error: str | None
    """Why the request failed (None on 200)."""
    started_at: float
    """Wall-clock start, seconds since the epoch."""
    queue_ms: float
    """Time waiting for an admission slot."""
    run_ms: float
    """Time inside run() (x-ms-run-fn-exec-ms); 0 when run() was not called."""
    total_ms: float
    """Time from request start to response sent."""
    streamed: bool = False
    """The body was streamed (``output`` is then empty; ``total_ms`` runs to the head)."""


RequestObserver = Callable[[RequestRecord], None]
"""Called with every finished scoring request."""
