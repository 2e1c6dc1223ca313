"""The runtime's HTTP/1.1 server: an asyncio protocol over httptools (the C parser uvicorn
uses), without ASGI on the request path.

Why not uvicorn: for a trivial run() most of a request's CPU went into the ASGI plumbing
(scope dicts, receive/send coroutines, a task per request); this protocol hands a parsed
:class:`HttpRequest` to the application, which answers with a ``(status, headers, body)``
tuple at once or with a future of one, and writes the response in a single ``write``.

What it does for every connection:

* keep-alive and pipelining: responses in request order, driven by one loop (no recursion,
  however many requests arrive in one read); at most :data:`MAX_PIPELINED` parsed requests
  wait, the rest of the bytes stay unparsed and reading pauses;
* the parser is fed one request head, or one body, at a time (cut at the head's blank line and
  at the end of a ``Content-Length`` body), so every head in a read is counted exactly against
  :data:`MAX_HEAD_BYTES` (else ``431`` and close) and a request's bytes never reach the parser
  before the previous request's framing is settled;
* RFC 9112 checks on top of the parser: exactly one valid ``Host`` in HTTP/1.1 (at most one in
  HTTP/1.0), else ``400``; versions other than 1.0 and 1.1 refused (``400`` for HTTP/0.9,
  ``505`` above); chunked trailers are read and dropped, never merged into the headers
  (RFC 9110 §6.5), and bounded like a head;
* ``Connection: Upgrade`` is not supported: the request is served as plain HTTP/1.1, with its
  body, then the connection closes;
* ``Expect: 100-continue`` answered before the body is read (when no earlier response is due);
* a protocol error after valid requests: their responses are sent first, then the JSON ``400``
  (or ``408``/``431``/``505``), then the connection closes;
* a body larger than the application's limit is never buffered: past the limit the rest is
  discarded, and a declared ``Content-Length`` over it is answered at once (then closed);
* every connection state has a deadline (checked every :data:`SWEEP_INTERVAL_S`): a head
  :data:`HEAD_TIMEOUT_S`, a body :data:`BODY_IDLE_TIMEOUT_S` without a byte and
  :data:`BODY_TIMEOUT_S` in all (``408``), an idle keep-alive connection
  :data:`KEEP_ALIVE_TIMEOUT_S`, a client that does not read its responses
  :data:`SEND_TIMEOUT_S`, a response the application owes ``response_timeout_s`` (the
  application's own timeout answers first; this is a backstop);
* an optional cap on open connections (new ones are closed at once past it);
* write back-pressure: reading and dispatching pause while the transport's write buffer is full.
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
4 x 8 KiB; Azure Front Door and most proxies allow 32-64 KiB). Also the bound on a chunked
body's framing without data (chunk-size lines, extensions, trailers)."""
HEAD_TIMEOUT_S = 30.0
"""Time a client has to send a complete request head once it started one (slow-loris bound)."""
KEEP_ALIVE_TIMEOUT_S = 75.0
"""Idle time after which a keep-alive connection is closed (nginx's keepalive_timeout)."""
BODY_IDLE_TIMEOUT_S = 60.0
"""Time without a single body byte after which a half-sent request gets ``408``."""
BODY_TIMEOUT_S = 300.0
"""Time a client has to send a whole body once its head arrived (a 100 MiB body at
~350 KB/s); a slow body that keeps trickling gets ``408`` past it."""
SEND_TIMEOUT_S = 60.0
"""Time a client may leave its responses unread (write buffer full) before the connection is
dropped."""
MAX_PIPELINED = 16
"""Parsed requests waiting behind the one in progress; past it the rest stays unparsed."""
SWEEP_INTERVAL_S = 1.0
"""How often connection timeouts are checked."""
CHUNKED_CUTS = 64
"""Per chunked body, how many times the parser's input is cut at a blank line so that the
next request head starts exactly at a cut; past it (a body full of blank lines) the input is
fed in :data:`_SLICE` pieces, and a head that follows the body in the same piece is counted
from where the piece ends (at most :data:`_SLICE` bytes early)."""

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

    __slots__ = ("body", "headers", "keep_alive", "method", "path", "query", "too_large", "version")

    def __init__(
        self,
        method: str,
        path: str,
        query: bytes,
        headers: Headers,
        body: bytes,
        too_large: bool,
        keep_alive: bool,
        version: str = "1.1",
    ) -> None:
        self.method = method
        """Request method (upper case)."""
        self.path = path
        """Percent-decoded path."""
        self.query = query
        """Raw query string (without ``?``)."""
        self.headers = headers
        """Header (lower-case name, value) pairs in arrival order (never trailers)."""
        self.body = body
        """The body (empty when :attr:`too_large`)."""
        self.too_large = too_large
        """The body is over the application's limit (declared or counted); not kept."""
        self.keep_alive = keep_alive
        """Whether the connection may serve another request after this one."""
        self.version = version
        """HTTP version, ``"1.1"`` or ``"1.0"``."""


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
_BAD_HOST = _error(400, "An HTTP/1.1 request needs exactly one valid Host header.")
_HTTP09 = _error(400, "HTTP/0.9 is not supported.")
_BAD_VERSION = _error(505, "Only HTTP/1.0 and HTTP/1.1 are supported.")
_TE_UNSUPPORTED = _error(501, "Only Transfer-Encoding: chunked is supported.")
_HEAD_TOO_LARGE = _error(431, "Request header fields too large")
_HEAD_TIMEOUT = _error(408, "The request head was not received in time.")
_BODY_TIMEOUT = _error(408, "The request body was not received in time.")
_INTERNAL = (500, [(b"content-type", _JSON_CT)], b'{"message": "Internal server error."}')
_END_OF_HEAD = b"\r\n\r\n"
_FIND_MISSES = 8
"""CRs that start no head end :func:`find_head_end` steps over before the plain search."""
_SLICE = 64 * 1024
"""Largest piece of a chunked body fed to the parser at once."""
_HOST_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:%[]"
"""RFC 3986 host [":" port] characters (reg-name, IP literal, port); empty is allowed."""

_CRLF = frozenset(b"\r\n")


def find_head_end(data: bytes, start: int = 0) -> int:
    """``data.find(b"\\r\\n\\r\\n", start)``, fast on request bodies.

    CPython searches a 4-byte needle with a skip loop in C that, on JSON, advances a few bytes
    per step (120 µs over 168 KB here), while a 1-byte find is ``memchr`` (under 2 µs). So look
    for CR with ``memchr`` and check what follows; after a few CRs that start no head end, the
    plain search takes over, so input full of CRs costs no more than before.
    """
    find = data.find
    at = find(b"\r", start)
    for _ in range(_FIND_MISSES):
        if at < 0 or data.startswith(_END_OF_HEAD, at):
            return at
        at = find(b"\r", at + 1)
    return at if at < 0 else find(_END_OF_HEAD, at)


# parse states of a connection
_IDLE = 0  # between requests (a head may have begun: leading bytes before on_message_begin)
_HEAD = 1
_BODY = 2


def _skip_empty_lines(data: bytes) -> bytes:
    """``data`` without the empty lines before a request line, which a server ignores
    (RFC 9112 §2.2) and which therefore never count as head bytes."""
    start = 0
    while True:
        if data.startswith(b"\r\n", start):
            start += 2
        elif data.startswith(b"\n", start):
            start += 1
        else:
            return data[start:] if start else data


class _Reject(Exception):
    """Raised in a parser callback to refuse the request with ``HttpProtocol.error``."""


class _Clock:
    """The cached ``date`` header line, refreshed once a second by the sweep."""

    def __init__(self) -> None:
        self.date_line = b""
        self.refresh()

    def refresh(self) -> None:
        self.date_line = b"date: " + formatdate(usegmt=True).encode() + b"\r\n"


class HttpServer:
    """Owns the listener, the open connections and their timeouts."""

    def __init__(
        self,
        app: HttpApp,
        default_headers: Sequence[tuple[bytes, bytes]] = (),
        *,
        max_connections: int | None = None,
        response_timeout_s: float | None = None,
    ) -> None:
        """Serve ``app``, adding ``default_headers`` to every response; nothing listens before
        :meth:`start`. Past ``max_connections`` open connections a new one is closed at once;
        a connection whose response the application still owes after ``response_timeout_s``
        is dropped (a backstop behind the application's own timeout)."""
        self.app = app
        self.default_headers = b"".join(n + b": " + v + b"\r\n" for n, v in default_headers)
        self.max_connections = max_connections
        self.response_timeout_s = response_timeout_s
        self.connections: set[HttpProtocol] = set()
        self.refused = 0
        """Connections closed at once because :attr:`max_connections` were open."""
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
            try:
                conn.check_timeouts(now)
            except Exception:  # one broken connection must not stop the sweep
                log.exception("connection timeout check failed")
                conn.abort()
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
        # received bytes not yet fed to the parser, and what waits for an answer: requests, or
        # the raw error response that ends the connection
        self.stash = b""
        self.pipeline: deque[HttpRequest | bytes] = deque()
        self.current: HttpRequest | None = None
        self.driving = False
        self.failed = False  # an error response is queued: parse nothing more
        self.ended = False  # the connection's last request is parsed (or it is closing)
        self.reading_paused = False
        self.writing_paused = False
        self.close_after = False  # close after the response in progress (shutdown)
        self.stream: StreamBody | None = None
        """The streamed body being written (the current request's), if any."""
        self.stream_chunked = True
        self.stream_keep_alive = False
        self.version = "1.1"
        self.final = False
        # the request being parsed
        self.state = _IDLE
        self.method = ""
        self.url = b""
        self.headers: Headers = []
        self.body: list[bytes] = []
        self.body_size = 0
        self.got_body = False
        self.too_large = False
        self.dispatched_early = False
        self.upgrading = False
        self.reframing = False
        self.remaining = 0  # Content-Length body bytes not yet fed; -1: chunked
        self.declared = 0  # Content-Length of the request being parsed
        self.cuts = 0
        self.framing = 0  # chunked body bytes fed since the last data byte
        self.head_bytes = 0
        self.tail = b""
        self.path = ""
        self.query = b""
        self.error = _BAD_REQUEST
        now = time.monotonic()
        self.last_read = now
        self.idle_since = now  # connection made or last response written
        self.head_started = now
        self.body_started = now
        self.dispatched_at = now
        self.write_paused_at = now
        self.closed_at = 0.0

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        server = self.server
        if server.max_connections is not None and len(server.connections) >= server.max_connections:
            server.refused += 1
            self.transport.abort()
            self.transport = None
            return
        server.connections.add(self)
        if server.closing:
            self.close_after = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.server.connections.discard(self)
        self.pipeline.clear()
        self.stash = b""
        self.ended = True
        self._cancel_stream()

    def pause_writing(self) -> None:
        self.writing_paused = True
        self.write_paused_at = time.monotonic()
        self._flow()
        if self.stream is not None:
            self.stream.pause()

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.stream is not None:
            self.stream.resume()
        self._drive()

    def data_received(self, data: bytes) -> None:
        if self.transport is None or self.ended:
            return
        self.last_read = time.monotonic()
        self.stash = self.stash + data if self.stash else data
        self._drive()

    def eof_received(self) -> bool | None:
        return None

    # --- the connection's loop ---------------------------------------------------------------

    def _drive(self) -> None:
        """Answer queued requests in order and feed the parser while there is room; the only
        place that does either, so nothing recurses per pipelined request."""
        if self.driving:
            return
        self.driving = True
        try:
            while self.transport is not None:
                pipeline = self.pipeline
                if self.current is None and pipeline and not self.writing_paused:
                    item = pipeline.popleft()
                    if type(item) is bytes:
                        self.transport.write(item)
                        self._close()
                        break
                    self._handle(cast(HttpRequest, item))
                elif not (
                    self.stash and not self.ended and len(pipeline) < MAX_PIPELINED and self._feed()
                ):
                    break
            if self.reading_paused or self.ended or self.writing_paused or self.pipeline:
                self._flow()
        except Exception:
            log.exception("connection handling failed")
            self.abort()
        finally:
            self.driving = False

    def _flow(self) -> None:
        """Read only while the parser may take more and the client reads its answers."""
        transport = self.transport
        if transport is None:
            return
        stop = self.writing_paused or self.ended or len(self.pipeline) >= MAX_PIPELINED
        if stop != self.reading_paused:
            self.reading_paused = stop
            if stop:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def _feed(self) -> bool:
        """Feed the parser the next piece of :attr:`stash`: a head (with what follows it when
        no other head end does), the rest of a ``Content-Length`` body, or a piece of a
        chunked body. False: nothing to feed yet."""
        if self.state == _BODY:
            return self._feed_body(self.stash)
        data = self.stash
        if not self.head_bytes and data[0] in _CRLF:
            data = self.stash = _skip_empty_lines(data)
            if not data or data == b"\r":
                return False  # (a lone CR may be the start of another empty line)
            if data[0] == 13:  # a CR that starts no empty line (the parser would skip it)
                self._fail(_BAD_REQUEST)
                return True
        size = len(data)
        tail = self.tail
        window = tail + data if tail else data
        end = find_head_end(window)
        n = size if end < 0 else end + 4 - len(tail)
        self.head_bytes += n
        if self.head_bytes > MAX_HEAD_BYTES:
            self._fail(_HEAD_TOO_LARGE)
            return True
        self.tail = window[-3:] if end < 0 else b""
        # the usual read: one head and its body; with no other head end after this one, no
        # other request can complete in it, so all of it goes in at once (see _after_head)
        whole = n < size and find_head_end(data, n) < 0
        piece = data if whole or n >= size else data[:n]
        self.stash = b"" if piece is data else data[n:]
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade as exc:
            self._upgrade(piece[int(exc.args[0]) :])
            return True
        except httptools.HttpParserError:
            self._fail(self.error)
            return True
        if whole:
            self._after_head(data, n)
        return True

    def _after_head(self, data: bytes, n: int) -> None:
        """Account for the bytes after the head that ended at ``n``, fed along with it."""
        state = self.state
        if state == _BODY:  # all of them are body
            if self.remaining >= 0:
                self.remaining -= len(data) - n
            else:
                self.tail = data[n:][-3:]
                if not self.got_body:
                    self.framing += len(data) - n
        elif state == _HEAD:  # the request (no body or a Content-Length one) ended: a next
            # head began and has no end yet
            started = _skip_empty_lines(data[n + self.declared :])
            self.head_bytes += len(started)
            self.tail = started[-3:]
            if self.head_bytes > MAX_HEAD_BYTES:
                self._fail(_HEAD_TOO_LARGE)

    def _feed_body(self, data: bytes) -> bool:
        size = len(data)
        n = self._body_piece(data)
        if n <= 0:  # cannot happen (a finished body leaves _BODY); never loop on it
            self._fail(_BAD_REQUEST)
            return True
        if n >= size:
            piece = data
            self.stash = b""
        else:
            piece = data[:n]
            self.stash = data[n:]
        chunked = self.remaining < 0
        self.got_body = False
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade as exc:  # an upgrade request pipelined after this
            self._upgrade(piece[int(exc.args[0]) :])
        except httptools.HttpParserError:
            self._fail(self.error)
            return True
        if chunked and self.state == _BODY:
            self.framing = 0 if self.got_body else self.framing + len(piece)
            if self.framing > MAX_HEAD_BYTES:
                self._fail(_HEAD_TOO_LARGE)  # trailers or chunk lines without data
        return True

    def _body_piece(self, data: bytes) -> int:
        """How many bytes of ``data`` to feed while a body is being read."""
        remaining = self.remaining
        if remaining >= 0:
            n = min(remaining, len(data))
            self.remaining = remaining - n
            return n
        # chunked: a chunked body ends right after a blank line (the last chunk's, or the
        # trailers'); cut there so the next head starts a piece
        if self.cuts >= CHUNKED_CUTS:
            return _SLICE
        tail = self.tail
        window = tail + data[:_SLICE] if tail else data[:_SLICE]
        end = find_head_end(window)
        if end < 0:
            self.tail = window[-3:]
            return _SLICE
        self.cuts += 1
        self.tail = b""
        return end + 4 - len(tail)

    # --- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.reframing:
            return
        self.state = _HEAD
        self.url = b""
        self.headers = []
        self.body = []
        self.body_size = 0
        self.too_large = False
        self.dispatched_early = False
        self.upgrading = False
        self.final = False  # the connection closes after this request
        self.head_started = time.monotonic()

    def on_url(self, url: bytes) -> None:
        if not self.reframing:
            self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        # after the head only trailers arrive: read and dropped (RFC 9110 §6.5)
        if self.state == _HEAD:
            if value and value[-1] <= 32:  # the parser strips only leading whitespace
                value = value.rstrip(b" \t")
            self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        if self.reframing:
            self.reframing = False
            return
        parser = self.parser
        self.state = _BODY
        self.head_bytes = 0
        self.tail = b""
        self.cuts = 0
        self.framing = 0
        self.got_body = False
        self.body_started = time.monotonic()
        self.method = parser.get_method().decode("latin-1")
        version = self.version = parser.get_http_version()
        if version != "1.1" and version != "1.0":
            self.error = _HTTP09 if version == "0.9" else _BAD_VERSION
            raise _Reject
        try:
            parsed = httptools.parse_url(self.url)
        except httptools.HttpParserInvalidURLError:
            raise _Reject from None
        raw_path: bytes = parsed.path or b"/"
        path = raw_path.decode("latin-1")
        self.path = unquote(path) if "%" in path else path
        self.query = parsed.query or b""
        self._framing(version)

    def _framing(self, version: str) -> None:
        """Check Host, find the body's framing, answer early what must be answered early."""
        declared = 0
        chunked = expect = False
        hosts = 0
        host = b""
        for name, value in self.headers:
            if name == b"content-length":
                declared = int(value)  # the parser accepted it: digits, one value
            elif name == b"transfer-encoding":
                # the parser accepts a request's only if it ends in chunked; other codings
                # would reach the application still encoded (RFC 9112 §6.1: 501)
                if chunked or value.lower() != b"chunked":
                    self.error = _TE_UNSUPPORTED
                    raise _Reject
                chunked = True
            elif name == b"host":
                hosts += 1
                host = value
            elif name == b"expect" and value.lower() == b"100-continue":
                expect = version == "1.1"
        if hosts > 1 or (hosts == 0 and version == "1.1") or host.translate(None, _HOST_CHARS):
            self.error = _BAD_HOST
            raise _Reject
        self.remaining = -1 if chunked else declared
        self.declared = declared
        if self.parser.should_upgrade():
            self.upgrading = True  # the parser skips the body of an upgrade: see _upgrade
            return
        if declared > self.limit:
            # answer without reading the body: the app decides (auth first, then 413)
            self.too_large = self.dispatched_early = self.final = True
            self.pipeline.append(self._request(b""))
            return
        if expect and self.current is None and not self.pipeline and self.transport is not None:
            self.transport.write(_CONTINUE)

    def on_body(self, body: bytes) -> None:
        self.got_body = True
        if self.too_large:
            return
        self.body_size += len(body)
        if self.body_size > self.limit:
            self.too_large = True
            self.body = []
            return
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.upgrading:
            return  # the body follows (HttpParserUpgrade): _upgrade reframes it
        self.state = _IDLE
        self.url = b""
        if self.dispatched_early:
            self.dispatched_early = False
            self.ended = True
            return
        body = self.body
        payload = body[0] if len(body) == 1 else b"".join(body)
        self.body = []
        self.body_size = 0
        request = self._request(payload)
        if not request.keep_alive:
            self.ended = True  # whatever follows is never parsed
        self.pipeline.append(request)

    def _upgrade(self, rest: bytes) -> None:
        """``Connection: Upgrade`` (h2c, websocket, ...): not supported, so the request is
        served as plain HTTP/1.1 with its body, and the connection closes after it.

        The parser stopped at the end of the head, as if the rest were another protocol;
        a fresh parser reads the body, framed by the request's own Content-Length or chunked
        coding, behind a synthetic head that does not replace the request's."""
        self.upgrading = False
        self.final = True
        self.stash = rest + self.stash
        self.parser = httptools.HttpRequestParser(self)
        remaining = self.remaining
        if self.method == "CONNECT" or remaining == 0:
            self.state = _BODY
            self.remaining = 0
            self.on_message_complete()
            return
        framing = (
            b"transfer-encoding: chunked" if remaining < 0 else b"content-length: %d" % remaining
        )
        self.reframing = True
        self.parser.feed_data(b"POST / HTTP/1.1\r\n" + framing + b"\r\n\r\n")
        self.state = _BODY
        self.remaining = remaining

    # --- request handling --------------------------------------------------------------------

    def _request(self, body: bytes) -> HttpRequest:
        return HttpRequest(
            self.method,
            self.path,
            self.query,
            self.headers,
            body,
            self.too_large,
            not self.final and not self.close_after and self.parser.should_keep_alive(),
            self.version,
        )

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
            self.dispatched_at = time.monotonic()
            cast(asyncio.Future[Response], answer).add_done_callback(self._on_answer)

    def _on_answer(self, future: asyncio.Future[Response]) -> None:
        request = self.current
        if request is None or self.transport is None:
            return
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
        self._drive()

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
        self.idle_since = time.monotonic()
        if not keep_alive:
            self._close()

    # --- streamed bodies (StreamSink) -----------------------------------------------------------

    def _respond_stream(
        self, request: HttpRequest, status: int, headers: Headers, body: StreamBody
    ) -> None:
        """Write the head; the body follows in chunks (HTTP/1.0: until the connection closes).
        The request stays :attr:`current` until the body ends."""
        transport = self.transport
        if transport is None:
            self.current = None
            body.cancel()
            return
        chunked = request.version != "1.0"
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
            self._stream_done(keep_alive)
            return
        self.stream = body
        self.stream_chunked = chunked
        self.stream_keep_alive = keep_alive
        self.dispatched_at = time.monotonic()  # the backstop now times the body's progress
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
        self.dispatched_at = time.monotonic()

    def end_stream(self) -> None:
        """The streamed body is complete: finish the response, go on with the next request."""
        if self.stream is None:
            return
        self.stream = None
        if self.transport is not None and self.stream_chunked:
            self.transport.write(b"0\r\n\r\n")
        self._stream_done(self.stream_keep_alive)
        self._drive()

    def abort_stream(self) -> None:
        """Close the connection mid-body (the client sees an incomplete response)."""
        if self.stream is None:
            return
        self.stream = None
        self.current = None
        self.abort()

    def _stream_done(self, keep_alive: bool) -> None:
        self.current = None
        self.idle_since = time.monotonic()
        if not keep_alive:
            self._close()

    def _cancel_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.cancel()

    def _fail(self, raw: bytes) -> None:
        """Refuse with the error response ``raw`` after the responses already due, then close;
        nothing more is parsed."""
        if self.failed or self.transport is None:
            return
        self.failed = self.ended = True
        self.stash = b""
        self.state = _IDLE
        self.pipeline.append(raw)
        self._drive()

    def _close(self) -> None:
        """Close after the written bytes are sent (dropped if the client never reads them)."""
        self.ended = True
        self.pipeline.clear()
        self.stash = b""
        if self.transport is not None and not self.closed_at:
            self.closed_at = time.monotonic()
            self.transport.close()

    # --- timeouts and shutdown ---------------------------------------------------------------

    def check_timeouts(self, now: float) -> None:
        """Enforce the deadline of the connection's state (see the module documentation)."""
        if self.transport is None:
            return
        if self.closed_at or self.writing_paused:
            since = self.closed_at or self.write_paused_at
            if now - since > SEND_TIMEOUT_S:
                self.abort()
            return
        if self.current is not None:
            limit = self.server.response_timeout_s
            if limit is not None and now - self.dispatched_at > limit:
                log.error("no response after %.0f s: connection dropped", limit)
                self.abort()
                return
        if self.reading_paused or self.failed:
            return  # waiting for a response (deadline above), not for the client
        state = self.state
        if state == _HEAD:
            if now - self.head_started > HEAD_TIMEOUT_S:
                self._fail(_HEAD_TIMEOUT)
        elif state == _BODY:
            if (
                now - self.last_read > BODY_IDLE_TIMEOUT_S
                or now - self.body_started > BODY_TIMEOUT_S
            ):
                self._fail(_BODY_TIMEOUT)
        elif (
            self.current is None
            and not self.pipeline
            # bytes that start no request (blank lines) do not keep a connection open
            and now - self.idle_since > KEEP_ALIVE_TIMEOUT_S
        ):
            self.abort()

    def close_when_idle(self) -> None:
        """Close now if nothing is in progress, else after the current response."""
        self.close_after = True
        if self.closed_at:
            return  # already closing: its output is still being sent
        if self.current is None and not self.pipeline and self.state == _IDLE and not self.stash:
            self.abort()

    def abort(self) -> None:
        """Close the connection without answering (buffered output is dropped)."""
        transport = self.transport
        self.ended = True
        self.pipeline.clear()
        self.stash = b""
        if transport is not None:
            self.transport = None
            transport.abort()
        self.server.connections.discard(self)
        self._cancel_stream()
