"""A minimal keep-alive HTTP/1.1 client for proxy mode: asyncio protocols with the httptools
response parser (the same parser the server side uses), pooled per upstream.

Why not httpx: proxy mode must add at most ~1 ms to the upstream's latency; httpx's general
machinery costs about that much per call on its own. This client does one thing -- send a
request with a known body to one origin and read one response -- and reuses connections.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import NamedTuple, cast
from urllib.parse import urlsplit

import httptools

_DEFAULT_PORTS = {"http": 80, "https": 443}


class UpstreamError(Exception):
    """The upstream could not be reached or broke the connection / protocol."""


class UpstreamTimeout(Exception):
    """No complete response within the timeout (the connection is dropped)."""


class UpstreamResponse(NamedTuple):
    """A complete upstream response."""

    status: int
    """HTTP status."""
    headers: list[tuple[bytes, bytes]]
    """Response headers (names lower-case)."""
    body: bytes
    """Response body."""


class _Connection(asyncio.Protocol):
    """One upstream connection; at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[UpstreamResponse] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._received = False
        self._status = 0

    # --- asyncio.Protocol ---
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"invalid HTTP response from upstream: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._status and not self._has_length():
                # a close-delimited body ends with the connection
                waiter.set_result(
                    UpstreamResponse(self._status, self._headers, b"".join(self._body))
                )
            else:
                waiter.set_exception(UpstreamError("upstream closed the connection"))

    # --- httptools callbacks ---
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter = self._waiter
        keep_alive = self._parser.should_keep_alive()
        if waiter is not None and not waiter.done():
            waiter.set_result(UpstreamResponse(self._status, self._headers, b"".join(self._body)))
        if not keep_alive:
            self.close()

    # --- use ---
    def _has_length(self) -> bool:
        return any(k in (b"content-length", b"transfer-encoding") for k, _ in self._headers)

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def send(self, raw: bytes, loop: asyncio.AbstractEventLoop) -> asyncio.Future[UpstreamResponse]:
        """Write one request; the future resolves with its response."""
        assert self.transport is not None
        self._headers = []
        self._body = []
        self._status = 0
        self._received = False
        self._waiter = loop.create_future()
        self.transport.write(raw)
        return self._waiter

    @property
    def received_anything(self) -> bool:
        """Whether any byte of the current response arrived."""
        return self._received

    def close(self) -> None:
        """Close the connection."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class UpstreamClient:
    """Requests to one origin over pooled keep-alive connections."""

    def __init__(self, base_url: str, *, max_idle: int) -> None:
        """``base_url``: ``http(s)://host[:port]`` (a path part is ignored)."""
        parts = urlsplit(base_url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"unsupported upstream URL {base_url!r}")
        self.host = parts.hostname
        self.port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self._ssl = ssl.create_default_context() if parts.scheme == "https" else None
        default = parts.port is None
        self._host_header = (self.host if default else f"{self.host}:{self.port}").encode()
        self._idle: deque[_Connection] = deque()
        self._max_idle = max_idle

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await loop.create_connection(
                _Connection, self.host, self.port, ssl=self._ssl
            )
        except OSError as exc:
            raise UpstreamError(f"cannot connect to the upstream: {exc.strerror or exc}") from exc
        return protocol

    def _encode(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> bytes:
        lines = [
            f"{method} {target} HTTP/1.1\r\n".encode("latin-1"),
            b"host: " + self._host_header + b"\r\n",
            b"content-length: %d\r\n" % len(body),
        ]
        for name, value in headers:
            lines.append(f"{name}: {value}\r\n".encode("latin-1"))
        lines.append(b"\r\n")
        lines.append(body)
        return b"".join(lines)

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
        timeout_s: float,
    ) -> UpstreamResponse:
        """Send one request and read its response (UpstreamError / UpstreamTimeout)."""
        raw = self._encode(method, target, headers or [], body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        for attempt in range(2):
            reused = False
            conn: _Connection | None = None
            while self._idle:
                candidate = self._idle.pop()
                if not candidate.closed:
                    conn, reused = candidate, True
                    break
            if conn is None:
                conn = await self._connect()
            future = conn.send(raw, loop)
            timer = loop.call_at(deadline, _expire, future)
            try:
                response = await future
            except UpstreamError:
                conn.close()
                # a reused connection the upstream had already closed: try a fresh one once
                if reused and attempt == 0 and not conn.received_anything:
                    continue
                raise
            except BaseException:
                conn.close()  # timeout or cancellation: the connection state is unknown
                raise
            finally:
                timer.cancel()
            if not conn.closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
            elif not conn.closed:
                conn.close()
            return response
        raise UpstreamError("upstream closed the connection")  # pragma: no cover - loop exits

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()


def _expire(future: asyncio.Future[UpstreamResponse]) -> None:
    if not future.done():
        future.set_exception(UpstreamTimeout())
