"""The structured access log: one JSON line per request, never secrets or bodies."""

from __future__ import annotations

import io
import json
import logging
import threading

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


def test_lines_are_escaped_timed_like_iso8601_and_written_while_serving() -> None:
    from datetime import UTC, datetime

    stream = io.StringIO()
    access = AccessLog(stream, flush_interval_s=0.01)
    moments = [1764042012.0, 1764042012.9996, 1764042013.0004, 1764045599.123456]
    try:
        for i, at in enumerate(moments):
            access.request(
                request_id=f'id "{i}"\n\\',
                method="POST",
                path="/api/v1/service/caf\u00e9/score",
                status=200,
                started_at=at,
                queue_ms=0,
                run_ms=1 / 3,
                total_ms=2.5,
                error=None,
            )
        for _ in range(500):  # the writer thread flushes without close()
            if stream.getvalue().count("\n") == len(moments):
                break
            threading.Event().wait(0.01)
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        access.close()
    assert [x["requestId"] for x in lines] == [f'id "{i}"\n\\' for i in range(len(moments))]
    assert [x["time"] for x in lines] == [
        datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for at in moments
    ]
    assert lines[0]["path"] == "/api/v1/service/caf\u00e9/score"
    assert (lines[0]["queueMs"], lines[0]["runMs"], lines[0]["totalMs"]) == (0, 0.333, 2.5)
