"""The request head is bounded: oversized headers get 431 before httptools buffers them."""

from __future__ import annotations

import json
import socket
from typing import Any

from aksml.runtime.httpproto import MAX_HEAD_BYTES


def _exchange(server: Any, head_extra: bytes, body: bytes = b'{"data": 1}') -> bytes:
    request = (
        b"POST /score HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n"
        + head_extra
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        chunks: list[bytes] = []
        try:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server answered early and closed with our unread bytes in its buffer
    return b"".join(chunks)


def test_oversized_header_gets_431_json(plain: Any) -> None:
    reply = _exchange(plain, b"X-Big: " + b"a" * (MAX_HEAD_BYTES + 10) + b"\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431")
    assert json.loads(body)["message"] == "Request header fields too large"


def test_many_small_headers_over_the_limit_get_431(plain: Any) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(MAX_HEAD_BYTES // 100))
    assert _exchange(plain, headers).startswith(b"HTTP/1.1 431")


def test_large_header_under_the_limit_is_served(plain: Any) -> None:
    reply = _exchange(plain, b"X-Big: " + b"a" * (MAX_HEAD_BYTES // 2) + b"\r\n")
    assert reply.startswith(b"HTTP/1.1 200")


def test_body_bytes_do_not_count_as_head(serve: Any) -> None:
    # a body several times the head limit, sent in the same packets as a small head, is a
    # body (served), not a head (431)
    server = serve("plain.py")
    body = json.dumps({"data": "x" * (MAX_HEAD_BYTES * 3)}).encode()
    assert _exchange(server, b"", body=body).startswith(b"HTTP/1.1 200")


def test_server_keeps_serving_after_rejecting_a_head(plain: Any) -> None:
    _exchange(plain, b"X-Big: " + b"a" * (MAX_HEAD_BYTES * 4) + b"\r\n")
    with plain.client() as client:
        assert client.get("/").status_code == 200
