"""Fixtures for tests/obs: a local Application Insights ingestion endpoint that records every
POSTed envelope."""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Ingestion:
    """Serves ``POST /v2.1/track`` (and ``/v2/track``) on 127.0.0.1; keeps what arrives."""

    def __init__(self) -> None:
        self.ikey = str(uuid.uuid4())  # unique: the exporter's retry storage is keyed on it
        self.envelopes: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip" or body[:2] == b"\x1f\x8b":
                    body = gzip.decompress(body)
                items = json.loads(body)
                items = items if isinstance(items, list) else [items]
                with owner.arrived:
                    owner.raw.append(body)
                    owner.headers.append(dict(self.headers))
                    owner.envelopes.extend(items)
                    owner.arrived.notify_all()
                reply = json.dumps(
                    {"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def connection_string(self) -> str:
        """A connection string whose ingestion endpoint is this server."""
        port = self.server.server_address[1]
        return f"InstrumentationKey={self.ikey};IngestionEndpoint=http://127.0.0.1:{port}/"

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until ``predicate(envelopes)`` is true; return the envelopes."""
        with self.arrived:
            ok = self.arrived.wait_for(lambda: predicate(self.envelopes), timeout)
            assert ok, f"telemetry did not arrive; got {json.dumps(self.envelopes)[:2000]}"
            return list(self.envelopes)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


NO_MICROSOFT_CALLS = {
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
}
"""The exporter's own statsbeat, SDK stats and remote settings would call Microsoft endpoints."""


@pytest.fixture(autouse=True)
def _no_microsoft_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in NO_MICROSOFT_CALLS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def ingestion() -> Iterator[Ingestion]:
    """A running local ingestion endpoint on 127.0.0.1."""
    server = Ingestion()
    try:
        yield server
    finally:
        server.close()
