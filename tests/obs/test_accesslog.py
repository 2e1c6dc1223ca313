"""The structured access log: one JSON line per request, never secrets or bodies."""

from __future__ import annotations

import io
import json
import logging

from aksml.runtime.accesslog import AccessLog


def test_one_json_line_per_request_without_bodies() -> None:
    stream = io.StringIO()
    access = AccessLog(stream)
    try:
        access.request(
            request_id="req-1",
            method="POST",
            path="/score",
            status=200,
            started_at=1764042012.5,
            queue_ms=0.25,
            run_ms=3.1234,
            total_ms=4.0,
            error=None,
        )
        access.request(
            request_id="req-2",
            method="POST",
            path="/score",
            status=502,
            started_at=1764042012.5,
            queue_ms=0,
            run_ms=1,
            total_ms=2,
            error="boom",
        )
        logging.getLogger().warning("root logger output stays out of the access log")
    finally:
        access.close()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first == {
        "time": "2025-11-25T03:40:12.500Z",
        "requestId": "req-1",
        "method": "POST",
        "path": "/score",
        "status": 200,
        "queueMs": 0.25,
        "runMs": 3.123,
        "totalMs": 4.0,
    }
    assert second["error"] == "boom"
    assert not logging.getLogger("aksml.access").handlers
