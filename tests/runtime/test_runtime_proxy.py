"""Proxy mode (``--upstream``) against a small HTTP model server started by the test."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/":
            self._reply(200, "up")
        elif self.path.startswith("/docs/swagger"):
            self._reply(200, {"upstream_swagger": True, "path": self.path})
        else:
            self._reply(404, {"message": "no"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        request = json.loads(body or b"{}")
        if request.get("sleep"):
            time.sleep(float(request["sleep"]))
        status = int(request.get("status", 200))
        if request.get("close"):
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"close-delimited")
            self.close_connection = True
            return
        self._reply(
            status,
            {
                "path": self.path,
                "body": request,
                "authorization": self.headers.get("Authorization"),
                "x-request-id": self.headers.get("x-request-id"),
                "client_port": self.client_address[1],
            },
        )


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def proxy(upstream: str, start_server_fn: Callable[..., Any]) -> Iterator[Any]:
    server = start_server_fn(
        [
            "--upstream",
            upstream,
            "--upstream-score-path",
            "/v1/predict",
            "--upstream-swagger-path",
            "/docs/swagger",
            "--service-name",
            "px",
            "--primary-key",
            "pk-123",
            "--scoring-timeout-ms",
            "500",
            "--max-request-wait-ms",
            "50",
        ]
    )
    server.wait_ready()
    yield server
    assert server.stop() == 0


def _post(proxy: Any, payload: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(
        proxy.url + "/api/v1/service/px/score?x=1",
        content=json.dumps(payload),
        headers={"Authorization": "Bearer pk-123", **headers},
        timeout=10,
    )


def test_forwards_score_with_query_and_request_id(proxy: Any) -> None:
    response = _post(proxy, {"a": 1}, **{"x-request-id": "rid-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["path"] == "/v1/predict?x=1"
    assert body["body"] == {"a": 1}
    assert body["authorization"] is None  # the key is not passed on
    assert body["x-request-id"] == "rid-1"
    assert response.headers["x-request-id"] == "rid-1"
    assert float(response.headers["x-ms-run-fn-exec-ms"]) > 0


def test_proxy_keeps_auth(proxy: Any) -> None:
    response = httpx.post(proxy.url + "/score", content=b"{}", timeout=10)
    assert response.status_code == 401
    assert "www-authenticate" in response.headers


def test_upstream_500_becomes_502_and_4xx_passes(proxy: Any) -> None:
    failed = _post(proxy, {"status": 500})
    assert failed.status_code == 502
    assert failed.headers["x-ms-run-function-failed"] == "True"
    assert _post(proxy, {"status": 422}).status_code == 422


def test_upstream_timeout_is_504_and_queue_503(proxy: Any) -> None:
    results: list[httpx.Response] = []
    slow = threading.Thread(target=lambda: results.append(_post(proxy, {"sleep": 2})))
    slow.start()
    time.sleep(0.2)
    refused = _post(proxy, {})
    slow.join(timeout=10)
    assert refused.status_code == 503
    assert results[0].status_code == 504
    assert results[0].json() == {"message": "Scoring timeout after 500 ms"}


def test_swagger_is_forwarded(proxy: Any) -> None:
    response = httpx.get(proxy.url + "/api/v1/service/px/swagger.json?version=3", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"upstream_swagger": True, "path": "/docs/swagger?version=3"}


def test_unreachable_upstream_is_not_ready(serve: Callable[..., Any]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    server = serve(None, "--upstream", f"http://127.0.0.1:{closed_port}", ready=False)
    deadline = time.monotonic() + 10
    while not server.port:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert httpx.get(server.url + "/-/ready").status_code == 503
    # liveness: the kubelet sees a live process; a local client polling / is told "not yet"
    kubelet = {"User-Agent": "kube-probe/1.30"}
    assert httpx.get(server.url + "/", headers=kubelet).status_code == 200
    assert httpx.get(server.url + "/").status_code == 503
    assert httpx.post(server.url + "/score", content=b"{}").status_code == 503


def test_connections_are_reused_and_close_delimited_bodies_read(proxy: Any) -> None:
    ports = {_post(proxy, {}).json()["client_port"] for _ in range(3)}
    assert len(ports) == 1
    closing = _post(proxy, {"close": True})
    assert closing.status_code == 200
    assert closing.content == b"close-delimited"
    assert closing.headers["content-type"] == "text/plain"
    assert _post(proxy, {}).status_code == 200
