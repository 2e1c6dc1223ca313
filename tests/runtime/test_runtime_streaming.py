"""Streamed response bodies: ``AMLResponse(generator)`` is sent chunk by chunk as the generator
yields, with admission and the scoring timeout still applying (real ``aksml serve`` processes)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest


def _raw(port: int, request: bytes) -> bytes:
    """Send ``request`` on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_chunks_arrive_as_the_generator_yields(serve: Callable[..., Any]) -> None:
    server = serve("streaming.py")
    with server.client() as client:
        with client.stream("POST", "/score?count=3&pause=1", content=b"x") as response:
            assert response.status_code == 200
            assert response.headers["transfer-encoding"] == "chunked"
            assert "content-length" not in response.headers
            assert response.headers["x-ms-run-function-failed"] == "False"
            parts = response.iter_raw()
            first = next(parts)
            # the generator sleeps 1 s between chunks: the first one is here before the last
            assert first == b"chunk 0\n"
            rest = b"".join(parts)
        assert first + rest == b"chunk 0\nchunk 1\nchunk 2\n"
        # the connection stays usable after a streamed response (keep-alive)
        again = client.post("/score?count=2", content=b"x")
    assert again.text == "chunk 0\nchunk 1\n"


def test_chunk_framing_and_http10(serve: Callable[..., Any]) -> None:
    server = serve("streaming.py")
    request = b"POST /score?count=2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
    chunked = _raw(server.port, request + b"Connection: close\r\n\r\nx")
    head, _, body = chunked.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert body == b"8\r\nchunk 0\n\r\n8\r\nchunk 1\n\r\n0\r\n\r\n"
    old = _raw(server.port, b"POST /score?count=2 HTTP/1.0\r\nContent-Length: 1\r\n\r\nx")
    head, _, body = old.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower()  # HTTP/1.0: the body ends with the connection
    assert b"connection: close" in head.lower()
    assert body == b"chunk 0\nchunk 1\n"


def test_a_stream_holds_its_admission_slot(serve: Callable[..., Any]) -> None:
    server = serve("streaming.py", "--max-request-wait-ms", "200")
    with server.client() as client, server.client() as other:
        with client.stream("POST", "/score?count=3&pause=1", content=b"x") as response:
            parts = response.iter_raw()
            assert next(parts) == b"chunk 0\n"
            refused = other.post("/score?count=1", content=b"x")
            assert refused.status_code == 503
            assert b"".join(parts) == b"chunk 1\nchunk 2\n"
        assert other.post("/score?count=1", content=b"x").status_code == 200


def test_a_stream_past_the_scoring_timeout_is_cut(serve: Callable[..., Any]) -> None:
    server = serve("streaming.py", "--scoring-timeout-ms", "1000")
    received = b""
    with server.client() as client:
        with (
            pytest.raises(httpx.RemoteProtocolError),  # an incomplete chunked body
            client.stream("POST", "/score?count=10&pause=0.4", content=b"x") as response,
        ):
            for part in response.iter_raw():
                received += part
        assert received.startswith(b"chunk 0\n") and b"chunk 9" not in received
        assert client.post("/score?count=1", content=b"x").status_code == 200
    assert "exceeded the scoring timeout" in server.output()


def test_a_failing_generator_cuts_the_connection(serve: Callable[..., Any]) -> None:
    server = serve("streaming.py")
    with server.client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/score?count=2&fail=1", content=b"x")
        assert client.post("/score?count=1", content=b"x").text == "chunk 0\n"
    assert "RuntimeError: generator failed" in server.output()


def test_worker_processes_send_the_whole_body(serve: Callable[..., Any]) -> None:
    server = serve("streaming.py", "--worker-mode", "process")
    with server.client() as client:
        response = client.post("/score?count=3", content=b"x")
    assert response.text == "chunk 0\nchunk 1\nchunk 2\n"
    assert response.headers["content-length"] == str(len(response.content))


def test_a_slow_reader_holds_the_generator_back(serve: Callable[..., Any]) -> None:
    server = serve("streaming.py", "--worker-mode", "thread", "--max-concurrent-requests", "2")
    with (
        server.client() as client,
        server.client() as other,
        client.stream("POST", "/score?big=200", content=b"x") as response,
    ):
        next(response.iter_raw())
        time.sleep(1.0)  # not reading: the socket and write buffers fill up
        produced = other.post("/score?produced=1", content=b"x").json()["chunks"]
    # 200 MiB would be produced without back-pressure; the buffers hold a few MiB
    assert produced < 50


def test_a_client_that_leaves_stops_the_generator(serve: Callable[..., Any]) -> None:
    server = serve("streaming.py", "--max-request-wait-ms", "3000")
    with (
        server.client() as client,
        client.stream("POST", "/score?count=50&pause=0.2", content=b"x") as response,
    ):
        assert next(response.iter_raw()) == b"chunk 0\n"
    # the connection is closed: the slot comes back at the generator's next chunk, long
    # before its 10 s would have ended (the next request waits at most 3 s for it)
    with server.client() as client:
        assert client.post("/score?count=1", content=b"x").status_code == 200


def test_a_busy_loop_bounds_the_chunks_a_producer_queues() -> None:
    """The loop does not run here (as when it is busy): the producer may hand over at most
    MAX_QUEUED_CHUNKS chunks, then waits until its deadline instead of queueing the body."""
    import asyncio

    from aksml.runtime.streaming import MAX_QUEUED_CHUNKS, ThreadedStream

    loop = asyncio.new_event_loop()
    try:
        stream = ThreadedStream(loop)
        deadline = time.perf_counter() + 0.5
        accepted = 0
        while stream.put(b"x" * 1024, deadline):
            accepted += 1
            assert accepted <= MAX_QUEUED_CHUNKS
        assert accepted == MAX_QUEUED_CHUNKS
        loop.call_soon(loop.stop)
        loop.run_forever()  # the queued chunks are delivered (pending until the head is written)
        assert stream.put(b"x", time.perf_counter() + 0.5) is False  # still unwritten: no slot
    finally:
        loop.close()
