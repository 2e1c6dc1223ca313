"""The request/result records passed between the front server and whatever runs ``run()``
(a thread, a worker process or an upstream server), plus the fixed response texts.

Both records are NamedTuples: cheap to build and to pickle across the worker socket.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

JSON_CT = b"application/json"
"""Content type of every JSON response."""

MSG_NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)
"""404 text (the reference server's Flask text)."""
MSG_METHOD = "The method is not allowed for the requested URL."
"""405 text (the reference server's Flask text)."""
MSG_RUN_FAILED = "An unexpected error occurred in scoring script. Check the logs for more info."
"""Exception in run() (the reference text; status 502 as azureml-fe sends it)."""
MSG_NOT_SERIALIZABLE = "An unexpected internal error occurred. Check the logs for more info."
"""run() returned something JSON cannot encode (the reference text, status 500)."""
MSG_NOT_JSON = "Expects Content-Type to be application/json"
"""415 for a schema-decorated script called without a JSON content type."""
MSG_DRAINING = "The service is shutting down and accepts no new requests."
"""503 while draining after SIGTERM."""
MSG_NOT_READY = "The service is not ready yet: init() has not finished."
"""503 before init() returned."""


def error_body(message: str) -> bytes:
    """The JSON error body every non-2xx response carries: ``{"message": ...}``."""
    return json.dumps({"message": message}).encode()


class ScoreRequest(NamedTuple):
    """One scoring call as the script runner sees it."""

    method: str
    """HTTP method (GET or POST)."""
    query: bytes
    """Raw query string (without ``?``)."""
    content_type: str
    """Content-Type header value ('' when absent)."""
    headers: tuple[tuple[str, str], ...]
    """Request headers (names as sent, lower-case), only filled when run() wants them."""
    body: bytes
    """Request body."""
    path: str = "/score"
    """Request path as the client sent it, percent-decoded, e.g.
    ``/api/v1/service/<name>/score``; a ``@rawhttp`` script sees it as ``request.path``."""


class ScoreResult(NamedTuple):
    """The outcome of one scoring call."""

    status: int
    """HTTP status."""
    body: bytes
    """Response body (JSON)."""
    run_failed: bool
    """True when run() raised or timed out (header x-ms-run-function-failed)."""
    exec_ms: float
    """Time spent in run(), ms (header x-ms-run-fn-exec-ms)."""
    error: str | None = None
    """A short description of the failure, for logs and observers; None on success."""
    content_type: bytes = JSON_CT
    """Response content type."""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    """Extra response headers from the script (``AMLResponse``), sent after the fixed ones."""
    stream: Any = None
    """A returned response whose body is a generator, still to be iterated (its chunks are
    sent with chunked transfer encoding); None otherwise (``body`` is the whole body). Only
    in-process back ends ask for this: a worker process sends the whole body."""
