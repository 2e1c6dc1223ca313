"""The six front-door defects of issue #19, each reproduced over raw sockets against a live
``aksml serve`` (thread and worker-process modes), plus HTTP/0.9 and the metrics port.

1. one scoring request + 999 quick requests pipelined in one write: all 1,000 answered, no
   RecursionError, no connection left behind (the fd count returns to its baseline);
2. chunked trailers never act as headers (an Authorization trailer authenticates nothing, an
   X-Request-Id trailer does not replace the header's);
3. ``Connection: Upgrade`` + ``Upgrade: h2c`` on a POST: the body is scored (200), as the
   reference does;
4. a 150 KB head after another request in the same write gets 431;
5. a valid request followed by garbage in the same write: its response first, then 400;
6. two Host headers: 400 (RFC 9112 §3.2).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from relkit import LOOPBACK, SCRIPTS, Runtime, RuntimeFactory, report

from aksml import contract as c
from aksml.runtime.metrics import METRICS_MAX_CONNECTIONS

GOOD = b'{"data": [[1.0, 2.0, 3.0]], "scale": 2.0}'
"""A scoring body; the script answers [12.0]."""


@pytest.fixture(params=[1, 2], ids=["thread", "process"])
def runtime(runtimes: RuntimeFactory, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """The schema-decorated script, run() in a thread (one slot) or in worker processes."""
    yield runtimes.start(
        SCRIPTS / "score_schema.py", settings={c.MAX_CONCURRENT_REQUESTS: request.param}
    )


class Reader:
    """Reads HTTP/1.1 responses (Content-Length framed) off a raw socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        chunk = self.sock.recv(1 << 16)
        self.buf += chunk
        return bool(chunk)

    def response(self) -> tuple[int, dict[bytes, bytes], bytes] | None:
        """The next response, or None when the server closed the connection."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                return None
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        while len(self.buf) < length:
            if not self._fill():
                return None
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(lines[0].split(b" ")[1]), headers, body

    def closed(self) -> bool:
        """Whether the server closed the connection (nothing more arrives)."""
        return not self.buf and not self._fill()


def post(key: str | None, body: bytes = GOOD, extra: bytes = b"") -> bytes:
    """A keep-alive scoring request."""
    auth = b"Authorization: Bearer " + key.encode() + b"\r\n" if key else b""
    return (
        b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + auth
        + extra
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body
    )


def connect(rt: Runtime) -> tuple[socket.socket, Reader]:
    """A raw connection to the scoring port."""
    sock = socket.create_connection((LOOPBACK, rt.port), timeout=30)
    return sock, Reader(sock)


def open_fds(pid: int) -> int:
    """File descriptors the process holds (sockets included)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def settle_fds(pid: int, baseline: int, timeout: float = 10.0) -> int:
    """The fd count once it is back at ``baseline`` (or whatever it is at ``timeout``)."""
    deadline = time.monotonic() + timeout
    count = open_fds(pid)
    while count > baseline and time.monotonic() < deadline:
        time.sleep(0.1)
        count = open_fds(pid)
    return count


def test_pipelined_flood_is_answered_in_full_and_leaves_nothing_behind(runtime: Runtime) -> None:
    """Defect 1: the issue's reproduction, ten times over."""
    baseline = open_fds(runtime.proc.pid)
    attempts, answered = 10, 0
    for _ in range(attempts):
        sock, reader = connect(runtime)
        with sock:
            sock.sendall(post(runtime.key) + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 999)
            first = reader.response()
            assert first is not None and first[0] == 200 and json.loads(first[2]) == [12.0]
            statuses: list[int] = []
            for _ in range(999):
                answer = reader.response()
                assert answer is not None, f"connection closed after {len(statuses)} answers"
                statuses.append(answer[0])
            assert statuses == [200] * 999
            answered += 1 + len(statuses)
            # still a working keep-alive connection
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            last = reader.response()
            assert last is not None and last[0] == 200 and reader.closed()
    # no connection stuck half-closed: the runtime is back to its baseline of descriptors
    assert settle_fds(runtime.proc.pid, baseline) <= baseline
    logs = runtime.logs()
    assert "RecursionError" not in logs and "Traceback" not in logs, logs[-3000:]
    report(
        "pipelined flood",
        load="1 scoring request + 999 GET / in one write, 10 connections",
        faults=f"{attempts} floods, all {answered} requests answered in order",
        requests=answered,
        lost=attempts * 1000 - answered,
    )


def chunked(body: bytes, trailers: bytes) -> bytes:
    """``body`` as two chunks, then ``trailers`` (header lines)."""
    half = len(body) // 2
    parts = [body[:half], body[half:]]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n" + trailers + b"\r\n"


def test_trailers_are_never_headers(runtime: Runtime) -> None:
    """Defect 2: an Authorization trailer does not authenticate; an X-Request-Id trailer does
    not replace the header's."""
    head = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    sock, reader = connect(runtime)
    with sock:
        sock.sendall(
            head
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + chunked(GOOD, b"Authorization: Bearer " + runtime.key.encode() + b"\r\n")
        )
        answer = reader.response()
        assert answer is not None and answer[0] == 401
        sock.sendall(
            head
            + b"Authorization: Bearer "
            + runtime.key.encode()
            + b"\r\nX-Request-Id: from-the-head\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked(GOOD, b"X-Request-Id: from-the-trailer\r\nAuthorization: Bearer x\r\n")
        )
        answer = reader.response()
        assert answer is not None and answer[0] == 200, answer
        assert answer[1][b"x-request-id"] == b"from-the-head"
        assert json.loads(answer[2]) == [12.0]


@pytest.mark.parametrize("protocol", [b"h2c", b"websocket"])
def test_an_upgrade_request_is_served_with_its_body(runtime: Runtime, protocol: bytes) -> None:
    """Defect 3: served as plain HTTP/1.1 with the body scored, then the connection closes."""
    extra = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: " + protocol + b"\r\n"
    sock, reader = connect(runtime)
    with sock:
        sock.sendall(post(runtime.key, extra=extra))
        answer = reader.response()
        assert answer is not None and answer[0] == 200 and json.loads(answer[2]) == [12.0]
        assert answer[1][b"connection"] == b"close" and reader.closed()


def test_every_head_in_one_write_is_held_to_the_limit(runtime: Runtime) -> None:
    """Defect 4: a 150 KB head after a valid request in the same write gets 431."""
    big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 150_000 + b"\r\n\r\n"
    sock, reader = connect(runtime)
    with sock:
        sock.sendall(post(runtime.key) + big)
        first, second = reader.response(), reader.response()
    assert first is not None and first[0] == 200 and json.loads(first[2]) == [12.0]
    assert second is not None and second[0] == 431 and "message" in json.loads(second[2])


def test_garbage_after_a_valid_request_comes_after_its_answer(runtime: Runtime) -> None:
    """Defect 5: the valid request's response is sent, then the 400, then the close."""
    sock, reader = connect(runtime)
    with sock:
        sock.sendall(post(runtime.key) + b"HELLO THERE\r\n\r\n")
        first, second = reader.response(), reader.response()
        assert first is not None and first[0] == 200 and json.loads(first[2]) == [12.0]
        assert second is not None and second[0] == 400 and reader.closed()


@pytest.mark.parametrize(
    ("name", "raw", "status"),
    [
        ("two Host headers", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("no Host in HTTP/1.1", b"GET / HTTP/1.1\r\n\r\n", 400),
        ("a Host with a space", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        ("HTTP/0.9", b"GET /\r\n\r\n", 400),
        ("HTTP/2.0 over HTTP/1 framing", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (
            "gzip transfer coding",
            b"POST /score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            501,
        ),
    ],
)
def test_requests_rfc_9112_refuses(runtime: Runtime, name: str, raw: bytes, status: int) -> None:
    """Defect 6 and its neighbours: refused with a JSON message, then closed."""
    sock, reader = connect(runtime)
    with sock:
        sock.sendall(raw)
        answer = reader.response()
        assert answer is not None and answer[0] == status, (name, answer)
        assert "message" in json.loads(answer[2]) and reader.closed()
    assert httpx.get(runtime.live_url, timeout=5).status_code == 200


def test_metrics_port_caps_connections_and_keeps_serving(runtimes: RuntimeFactory) -> None:
    """The metrics port: past METRICS_MAX_CONNECTIONS idle connections new ones are closed at
    once, no thread is started per connection, and a scrape still works once they go."""
    rt = runtimes.start()
    threads_before = len(os.listdir(f"/proc/{rt.proc.pid}/task"))
    idle = [
        socket.create_connection((LOOPBACK, rt.metrics_port), timeout=10)
        for _ in range(METRICS_MAX_CONNECTIONS)
    ]
    try:
        time.sleep(0.3)
        threads_during = len(os.listdir(f"/proc/{rt.proc.pid}/task"))
        extra = socket.create_connection((LOOPBACK, rt.metrics_port), timeout=10)
        with extra, pytest.raises((ConnectionResetError, BrokenPipeError)):
            extra.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            if not extra.recv(100):
                raise ConnectionResetError("closed")
        assert threads_during <= threads_before + 1  # the one rendering thread, at most
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            scrape = httpx.get(rt.metrics_url, timeout=5)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert scrape.status_code == 200 and c.INFLIGHT_METRIC in scrape.text
    assert scrape.headers["content-type"].startswith("text/plain")
    openmetrics = httpx.get(
        rt.metrics_url, timeout=5, headers={"Accept": "application/openmetrics-text"}
    )
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert httpx.get(rt.metrics_url.replace("/metrics", "/nope"), timeout=5).status_code == 404


def test_slow_clients_on_the_metrics_port_starve_nobody(runtimes: RuntimeFactory) -> None:
    """A few clients trickling a head on the metrics port do not stop scrapes."""
    rt = runtimes.start()
    stop = threading.Event()

    def trickle() -> None:
        try:
            with socket.create_connection((LOOPBACK, rt.metrics_port), timeout=10) as sock:
                for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\n":
                    if stop.is_set():
                        return
                    sock.sendall(bytes([byte]))
                    time.sleep(0.1)
        except OSError:
            return

    slow = [threading.Thread(target=trickle) for _ in range(8)]
    for t in slow:
        t.start()
    try:
        time.sleep(0.3)
        for _ in range(5):
            assert httpx.get(rt.metrics_url, timeout=5).status_code == 200
    finally:
        stop.set()
        for t in slow:
            t.join(10)
