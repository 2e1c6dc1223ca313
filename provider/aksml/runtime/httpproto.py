"""The runtime's HTTP/1.1 server: an asyncio protocol over httptools (the C parser uvicorn
uses), without ASGI on the request path.

Why not uvicorn: for a trivial run() most of a request's CPU went into the ASGI plumbing
(scope dicts, receive/send coroutines, a task per request); this protocol hands a parsed
:class:`HttpRequest` to the application, which answers with a ``(status, headers, body)``
tuple at once or with a future of one, and writes the response in a single ``write``.

What it does for every connection:

* keep-alive and pipelining (responses in request order; reading pauses while more than
  :data:`MAX_PIPELINED` requests wait), HTTP/1.0 and ``Connection: close``;
* ``Expect: 100-continue`` answered before the body is read;
* request head bounded (:data:`MAX_HEAD_BYTES`, else ``431`` and close) and timed
  (:data:`HEAD_TIMEOUT_S` to send a whole head, else ``408`` and close);
* a body larger than the application's limit is never buffered: past the limit the rest is
  discarded, and a declared ``Content-Length`` over it is answered at once (then closed);
* idle keep-alive connections closed after :data:`KEEP_ALIVE_TIMEOUT_S` (longer than the
  upstream idle timeouts of ingress-nginx and Envoy-based gateways, so the proxy closes first);
* malformed requests answered ``400`` with a JSON ``message`` and closed;
* write back-pressure: reading pauses while the transport's write buffer is full.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Sequence
from email.utils import formatdate
from http import HTTPStatus
from typing import Protocol, cast
from urllib.parse import unquote

import httptools

log = logging.getLogger("aksml.runtime")

MAX_HEAD_BYTES = 64 * 1024
"""Largest accepted request line + headers (nginx's default large_client_header_buffers is
4 x 8 KiB; Azure Front Door and most proxies allow 32-64 KiB)."""
HEAD_TIMEOUT_S = 30.0
"""Time a client has to send a complete request head once it started one (slow-loris bound)."""
KEEP_ALIVE_TIMEOUT_S = 75.0
"""Idle time after which a keep-alive connection is closed (nginx's keepalive_timeout)."""
BODY_IDLE_TIMEOUT_S = 60.0
"""Time without a single body byte after which a half-sent request is dropped."""
MAX_PIPELINED = 16
"""Parsed requests waiting behind the one in progress before reading pauses."""
SWEEP_INTERVAL_S = 1.0
"""How often connection timeouts are checked."""

Headers = list[tuple[bytes, bytes]]
Response = tuple[int, Headers, bytes]
"""``(status, headers, body)``; the protocol adds content-length, date and connection. The body
may also be a :class:`StreamBody` (sent with chunked transfer encoding)."""


class StreamSink(Protocol):
    """Where a :class:`StreamBody` writes (the connection; called on the event loop)."""

    def send_chunk(self, data: bytes) -> None:
        """Write one non-empty chunk."""

    def end_stream(self) -> None:
        """The body is complete."""

    def abort_stream(self) -> None:
        """Give up: close the connection without completing the body."""


class StreamBody(Protocol):
    """A response body produced over time. The protocol writes the head, then calls
    :meth:`attach`; the body writes to the sink until it ends or aborts."""

    def attach(self, sink: StreamSink) -> None:
        """The head is written; write the chunks to ``sink`` from now on."""

    def pause(self) -> None:
        """The client reads slowly (the write buffer is full): hold back."""

    def resume(self) -> None:
        """The write buffer drained."""

    def cancel(self) -> None:
        """The connection is gone, or no body is wanted (HEAD): stop producing."""


class HttpRequest:
    """One parsed request as the application sees it."""

    __slots__ = ("body", "headers", "keep_alive", "method", "path", "query", "too_large")

    def __init__(
        self,
        method: str,
        path: str,
        query: bytes,
        headers: Headers,
        body: bytes,
        too_large: bool,
        keep_alive: bool,
    ) -> None:
        self.method = method
        """Request method (upper case)."""
        self.path = path
        """Percent-decoded path."""
        self.query = query
        """Raw query string (without ``?``)."""
        self.headers = headers
        """Header (lower-case name, value) pairs in arrival order."""
        self.body = body
        """The body (empty when :attr:`too_large`)."""
        self.too_large = too_large
        """The body is over the application's limit (declared or counted); not kept."""
        self.keep_alive = keep_alive
        """Whether the connection may serve another request after this one."""


class HttpApp(Protocol):
    """What the protocol serves."""

    max_body_bytes: int
    """Largest body the application accepts (larger ones arrive with ``too_large``)."""

    def dispatch(self, request: HttpRequest) -> Response | asyncio.Future[Response]:
        """Answer a request now, or with a future that resolves to the answer."""


def _status_line(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase.encode("latin-1"))


_STATUS_LINES = {status.value: _status_line(status.value) for status in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_JSON_CT = b"application/json"


def _error(status: int, message: str) -> bytes:
    body = json.dumps({"message": message}).encode()
    return (
        _STATUS_LINES[status]
        + b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body)
        + b"connection: close\r\n\r\n"
        + body
    )


_BAD_REQUEST = _error(400, "Invalid HTTP request.")
_HEAD_TOO_LARGE = _error(431, "Request header fields too large")
_HEAD_TIMEOUT = _error(408, "The request head was not received in time.")
_INTERNAL = (500, [(b"content-type", _JSON_CT)], b'{"message": "Internal server error."}')
_END_OF_HEAD = b"\r\n\r\n"


class _Clock:
    """The cached ``date`` header line, refreshed once a second by the sweep."""

    def __init__(self) -> None:
        self.date_line = b""
        self.refresh()

    def refresh(self) -> None:
        self.date_line = b"date: " + formatdate(usegmt=True).encode() + b"\r\n"


class HttpServer:
    """Owns the listener, the open connections and their timeouts."""

    def __init__(self, app: HttpApp, default_headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
        """Serve ``app``, adding ``default_headers`` to every response; nothing listens before
        :meth:`start`."""
        self.app = app
        self.default_headers = b"".join(n + b": " + v + b"\r\n" for n, v in default_headers)
        self.connections: set[HttpProtocol] = set()
        self.clock = _Clock()
        self.closing = False
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port``; returns the bound port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: HttpProtocol(self), host, port, backlog=2048, reuse_address=True
        )
        self._sweeper = loop.call_later(SWEEP_INTERVAL_S, self._sweep)
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1]) if sockets else port

    def _sweep(self) -> None:
        self.clock.refresh()
        now = time.monotonic()
        for conn in list(self.connections):
            conn.check_timeouts(now)
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(SWEEP_INTERVAL_S, self._sweep)

    async def shutdown(self, timeout_s: float) -> None:
        """Stop listening, close idle connections, let busy ones finish their response
        (at most ``timeout_s``), then close whatever is left."""
        self.closing = True
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close_when_idle()
        deadline = time.monotonic() + timeout_s
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            conn.abort()
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            await self._server.wait_closed()


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.app = server.app
        self.limit = server.app.max_body_bytes
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.pipeline: deque[HttpRequest] = deque()
        self.current: HttpRequest | None = None
        self.reading_paused = False
        self.writing_paused = False
        self.close_after = False
        self.stream: StreamBody | None = None
        """The streamed body being written (the current request's), if any."""
        self.stream_chunked = True
        self.stream_keep_alive = False
        # request being parsed
        self.url = b""
        self.headers: Headers = []
        self.body: list[bytes] = []
        self.body_size = 0
        self.too_large = False
        self.dispatched_early = False
        self.in_head = False
        self.in_body = False
        self.head_bytes = 0
        self.tail = b""
        self.path = ""
        self.query = b""
        self.last_activity = time.monotonic()
        self.head_started = 0.0

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)
        if self.server.closing:
            self.close_after = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.server.connections.discard(self)
        self.pipeline.clear()
        if self.stream is not None:
            self.stream.cancel()
            self.stream = None

    def pause_writing(self) -> None:
        self.writing_paused = True
        self._pause_reading()
        if self.stream is not None:
            self.stream.pause()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.stream is not None:
            self.stream.resume()
        if len(self.pipeline) < MAX_PIPELINED:
            self._resume_reading()

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        self.last_activity = time.monotonic()
        if not self.in_body:
            # bound the head before httptools buffers it
            window = self.tail + data
            end = window.find(_END_OF_HEAD)
            counted = len(data) if end < 0 else max(0, end + 4 - len(self.tail))
            self.head_bytes += counted
            if self.head_bytes > MAX_HEAD_BYTES:
                self._fail(_HEAD_TOO_LARGE)
                return
            self.tail = window[-3:]
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # no protocol upgrades: answer the request as plain HTTP, then close
            self.close_after = True
        except httptools.HttpParserError:
            self._fail(_BAD_REQUEST)

    def eof_received(self) -> bool | None:
        return None

    # --- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.body = []
        self.body_size = 0
        self.too_large = False
        self.dispatched_early = False
        self.in_head = True
        self.head_started = time.monotonic()

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.in_body = True
        self.head_bytes = 0
        self.tail = b""
        try:
            parsed = httptools.parse_url(self.url)
        except httptools.HttpParserInvalidURLError:
            raise httptools.HttpParserError("invalid URL") from None
        raw_path: bytes = parsed.path or b"/"
        path = raw_path.decode("latin-1")
        self.path = unquote(path) if "%" in path else path
        self.query = parsed.query or b""
        declared = -1
        expect = False
        for name, value in self.headers:
            if name == b"content-length":
                declared = int(value) if value.isdigit() else -1
            elif name == b"expect" and value.lower() == b"100-continue":
                expect = True
        if declared > self.limit:
            # answer without reading the body: the app decides (auth first, then 413)
            self.too_large = True
            self.dispatched_early = True
            self.close_after = True
            self._enqueue(self._request(b""))
            return
        if expect and self.transport is not None:
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        if self.too_large:
            return
        self.body_size += len(body)
        if self.body_size > self.limit:
            self.too_large = True
            self.body = []
            return
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.in_body = False
        if self.dispatched_early:
            self.dispatched_early = False
            self.url = b""
            return
        body = self.body
        payload = body[0] if len(body) == 1 else b"".join(body)
        self.body = []
        self.body_size = 0
        self.url = b""
        self._enqueue(self._request(payload))

    # --- request handling --------------------------------------------------------------------

    def _request(self, body: bytes) -> HttpRequest:
        parser = self.parser
        return HttpRequest(
            parser.get_method().decode("latin-1"),
            self.path,
            self.query,
            self.headers,
            body,
            self.too_large,
            parser.should_keep_alive(),
        )

    def _enqueue(self, request: HttpRequest) -> None:
        if self.current is None:
            self._handle(request)
        else:
            self.pipeline.append(request)
            if len(self.pipeline) >= MAX_PIPELINED:
                self._pause_reading()

    def _handle(self, request: HttpRequest) -> None:
        self.current = request
        try:
            answer = self.app.dispatch(request)
        except Exception:
            log.exception("request handling failed")
            answer = _INTERNAL
        if type(answer) is tuple:
            self._respond(request, answer)
        else:
            assert isinstance(answer, asyncio.Future)
            answer.add_done_callback(self._on_answer)

    def _on_answer(self, future: asyncio.Future[Response]) -> None:
        request = self.current
        assert request is not None
        if future.cancelled():
            answer = _INTERNAL
        else:
            exc = future.exception()
            if exc is not None:
                log.error("request handling failed", exc_info=exc)
                answer = _INTERNAL
            else:
                answer = future.result()
        self._respond(request, answer)

    def _respond(self, request: HttpRequest, answer: Response) -> None:
        status, headers, body = answer
        if type(body) is not bytes:
            self._respond_stream(request, status, headers, cast(StreamBody, body))
            return
        self.current = None
        transport = self.transport
        if transport is None:
            return
        keep_alive = (
            request.keep_alive
            and not self.close_after
            and not self.server.closing
            and status != 413  # the rest of an oversized body is not worth reading
        )
        parts = [_STATUS_LINES.get(status) or _status_line(status)]
        for name, value in headers:
            parts.append(name + b": " + value + b"\r\n")
        parts.append(self.server.clock.date_line)
        parts.append(self.server.default_headers)
        parts.append(b"content-length: %d\r\n" % len(body))
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        if request.method != "HEAD":
            parts.append(body)
        transport.write(b"".join(parts))
        self._responded(keep_alive)

    def _responded(self, keep_alive: bool) -> None:
        """A response is complete: close, or go on with the next pipelined request."""
        transport = self.transport
        if transport is None:
            return
        self.last_activity = time.monotonic()
        if not keep_alive:
            transport.close()
            return
        pipeline = self.pipeline
        if pipeline:
            if len(pipeline) <= MAX_PIPELINED // 2 and not self.writing_paused:
                self._resume_reading()
            self._handle(pipeline.popleft())

    # --- streamed bodies (StreamSink) -----------------------------------------------------------

    def _respond_stream(
        self, request: HttpRequest, status: int, headers: Headers, body: StreamBody
    ) -> None:
        """Write the head; the body follows in chunks (HTTP/1.0: until the connection closes)."""
        transport = self.transport
        if transport is None:
            self.current = None
            body.cancel()
            return
        chunked = self.parser.get_http_version() != "1.0"
        keep_alive = (
            chunked and request.keep_alive and not self.close_after and not self.server.closing
        )
        parts = [_STATUS_LINES.get(status) or _status_line(status)]
        for name, value in headers:
            parts.append(name + b": " + value + b"\r\n")
        parts.append(self.server.clock.date_line)
        parts.append(self.server.default_headers)
        if chunked:
            parts.append(b"transfer-encoding: chunked\r\n")
        if not keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        transport.write(b"".join(parts))
        if request.method == "HEAD":
            body.cancel()
            self.current = None
            self._responded(keep_alive)
            return
        self.stream = body
        self.stream_chunked = chunked
        self.stream_keep_alive = keep_alive
        if self.writing_paused:
            body.pause()
        body.attach(self)

    def send_chunk(self, data: bytes) -> None:
        """Write one chunk of the streamed body."""
        if self.transport is None or self.stream is None:
            return
        if self.stream_chunked:
            data = b"%x\r\n%b\r\n" % (len(data), data)
        self.transport.write(data)
        self.last_activity = time.monotonic()

    def end_stream(self) -> None:
        """The streamed body is complete: finish the response."""
        if self.stream is None:
            return
        self.stream = None
        self.current = None
        if self.transport is not None and self.stream_chunked:
            self.transport.write(b"0\r\n\r\n")
        self._responded(self.stream_keep_alive)

    def abort_stream(self) -> None:
        """Close the connection mid-body (the client sees an incomplete response)."""
        if self.stream is None:
            return
        self.stream = None
        self.current = None
        self.abort()

    def _fail(self, raw: bytes) -> None:
        """Answer a protocol-level error and close (any request in progress is abandoned)."""
        transport = self.transport
        if transport is None:
            return
        if self.current is None:
            transport.write(raw)
        self.pipeline.clear()
        transport.close()
        self.transport = None
        self.server.connections.discard(self)

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.reading_paused and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()

    # --- timeouts and shutdown ---------------------------------------------------------------

    def check_timeouts(self, now: float) -> None:
        """Close the connection if its client is too slow or it idled too long."""
        if self.transport is None or self.current is not None or self.pipeline:
            return
        if self.in_head:
            if now - self.head_started > HEAD_TIMEOUT_S:
                self._fail(_HEAD_TIMEOUT)
        elif self.in_body:
            if now - self.last_activity > BODY_IDLE_TIMEOUT_S:
                self.abort()
        elif now - self.last_activity > KEEP_ALIVE_TIMEOUT_S:
            self.abort()

    def close_when_idle(self) -> None:
        """Close now if nothing is in progress, else after the current response."""
        self.close_after = True
        if self.current is None and not self.pipeline and not self.in_head:
            self.abort()

    def abort(self) -> None:
        """Close the connection without answering."""
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        self.server.connections.discard(self)
