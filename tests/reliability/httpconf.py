"""Differential HTTP/1.1 conformance kit: run request streams through the runtime's protocol
(:mod:`aksml.runtime.httpproto`) and through a reference model built on ``h11`` (a strict,
pure-Python HTTP/1.1 implementation), and describe both outcomes the same way.

The outcome of a stream is what a client sees: the responses in order -- each either "served"
(the request's method, path, query, headers and body as the application received them) or an
error status -- and whether the server closed the connection afterwards.

The model is ``h11`` plus the runtime's documented policy where RFC 9110/9112 leaves a choice
(each rule below says which); everything else -- where a head ends, how a body is framed,
what a chunked body decodes to, which bytes are a protocol error -- is h11's decision.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import h11

from aksml.runtime.httpproto import MAX_HEAD_BYTES, HttpProtocol, HttpRequest, HttpServer, Response

BODY_LIMIT = 1000
"""The application's body limit in these runs (413 above)."""

PROTOCOL_ERRORS = frozenset({400, 501, 505})
"""Statuses of a refused request whose exact code depends on which check saw it first."""

KNOWN_METHODS = frozenset(
    b"GET HEAD POST PUT DELETE OPTIONS PATCH TRACE PROPFIND REPORT MKCOL".split()
)
"""Methods the generators use that the runtime's parser (llhttp) knows; others are refused."""

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_CHUNK_SIZE_LINE = re.compile(
    rb"[0-9A-Fa-f]+(?:;%s(?:=(?:%s|\"(?:[^\"\\\r\n]|\\.)*\"))?)*" % (_TOKEN, _TOKEN)
)
"""RFC 9112 §7.1.1 chunk-size and chunk-ext, without the optional whitespace around ``;`` and
``=`` (the runtime's parser refuses it; h11 lets any text through as an extension)."""
_HOST_VALUE = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=:%\[\]]*")


# --- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """A request the application received."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: str


@dataclass(frozen=True)
class Refused:
    """An error response; ``statuses`` holds every acceptable code (one, unless several checks
    apply)."""

    statuses: frozenset[int]


@dataclass
class Outcome:
    """Responses in order and the connection's end state."""

    items: list[Served | Refused] = field(default_factory=list)
    closed: bool = False
    tail_incomplete: bool = False
    """The stream ends inside a request: the runtime may already have refused it (its parser
    reports some errors before h11 has seen enough to), so one extra ``Refused`` + close is
    also acceptable."""


def matches(runtime: Outcome, model: Outcome) -> bool:
    """Whether what the runtime did is what the model allows."""

    def same(items: Sequence[Served | Refused], expected: Sequence[Served | Refused]) -> bool:
        if len(items) != len(expected):
            return False
        for got, want in zip(items, expected, strict=True):
            if isinstance(want, Refused):
                if not isinstance(got, Refused) or not got.statuses <= want.statuses:
                    return False
            elif got != want:
                return False
        return True

    if same(runtime.items, model.items) and runtime.closed == model.closed:
        return True
    if model.tail_incomplete and not model.closed and runtime.closed:
        *head, last = runtime.items or [Served("", "", "", (), "")]
        return (
            isinstance(last, Refused)
            and last.statuses <= PROTOCOL_ERRORS | {431}
            and same(head, model.items)
        )
    return False


# --- the runtime side ---------------------------------------------------------------------------


class EchoApp:
    """Answers every request at once (or, deferred, from a future resolved on the next loop
    turn) with what it received, in an ``x-echo`` header; 413 when the body is too large."""

    max_body_bytes = BODY_LIMIT

    def __init__(self, deferred: bool) -> None:
        self.deferred = deferred
        self.outstanding = 0

    def dispatch(self, request: HttpRequest) -> Response | asyncio.Future[Response]:
        answer = self._answer(request)
        if not self.deferred:
            return answer
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.outstanding += 1

        def resolve() -> None:
            self.outstanding -= 1
            future.set_result(answer)

        asyncio.get_running_loop().call_soon(resolve)
        return future

    @staticmethod
    def _answer(request: HttpRequest) -> Response:
        if request.too_large:
            return 413, [], b""
        echo = [
            request.method,
            request.path,
            request.query.decode("latin-1"),
            [[n.decode("latin-1"), v.decode("latin-1")] for n, v in request.headers],
            request.body.decode("latin-1"),
        ]
        return 200, [(b"x-echo", json.dumps(echo).encode())], b""


class FakeTransport:
    """Records what the protocol writes; a transport that delivers nothing while paused."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.closed = False
        self.paused = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.out += data

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


async def _settle(app: EchoApp) -> None:
    """Run the loop until no answer has been outstanding for a few turns (an answer takes
    two: the future resolves, then the protocol's callback runs and may dispatch the next)."""
    quiet = 0
    while quiet < 4:
        await asyncio.sleep(0)
        quiet = 0 if app.outstanding else quiet + 1


async def _serve(pieces: Sequence[bytes], deferred: bool) -> tuple[bytes, bool]:
    app = EchoApp(deferred)
    proto = HttpProtocol(HttpServer(app))
    transport = FakeTransport()
    proto.connection_made(transport)  # type: ignore[arg-type]
    for piece in pieces:
        await _settle(app)
        if transport.closed or transport.paused:
            break  # a real transport reads nothing more
        proto.data_received(piece)
    await _settle(app)
    return bytes(transport.out), transport.closed


def run_runtime(
    pieces: Sequence[bytes], deferred: bool, loop: asyncio.AbstractEventLoop
) -> Outcome:
    """Deliver ``pieces`` to one connection of the runtime's protocol and read the answers."""
    out, closed = loop.run_until_complete(_serve(pieces, deferred))
    return Outcome(parse_responses(out), closed)


def parse_responses(out: bytes) -> list[Served | Refused]:
    """The responses in ``out`` (interim 1xx skipped)."""
    items: list[Served | Refused] = []
    pos = 0
    while pos < len(out):
        end = out.index(b"\r\n\r\n", pos)
        lines = out[pos:end].split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers = dict(line.split(b": ", 1) for line in lines[1:])
        length = int(headers.get(b"content-length", b"0"))
        pos = end + 4 + length
        if status < 200:
            continue
        if b"x-echo" in headers:
            method, path, query, hdrs, body = json.loads(headers[b"x-echo"])
            items.append(Served(method, path, query, tuple(map(tuple, hdrs)), body))
        else:
            items.append(Refused(frozenset({status})))
    return items


# --- the model ----------------------------------------------------------------------------------


def _refuse(outcome: Outcome, statuses: set[int] | frozenset[int]) -> Outcome:
    outcome.items.append(Refused(frozenset(statuses)))
    outcome.closed = True
    return outcome


def _raw_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-case name, value without surrounding whitespace) of each header line."""
    fields = []
    for line in head.split(b"\r\n")[1:]:
        if line:
            name, _, value = line.partition(b":")
            fields.append((name.lower(), value.strip(b" \t")))
    return fields


def _policy(event: h11.Request, head: bytes) -> set[int]:
    """Refusals where the RFCs let a server choose, as the runtime chooses."""
    refusals: set[int] = set()
    fields = _raw_fields(head)
    names = [n for n, _ in fields]
    if re.search(rb"(?<!\r)\n", head):
        refusals.add(400)  # a bare LF ends no line (RFC 9112 §2.2 lets h11 accept it)
    if re.search(rb"\r\n[ \t]", head[: len(head) - 2]):
        refusals.add(400)  # obs-fold: rejected (RFC 9112 §5.2 allows reject or unfold)
    if event.http_version not in (b"1.0", b"1.1"):
        refusals |= {400, 505}  # the parser refuses some versions itself
    if not re.match(rb"/|\*$|[A-Za-z][A-Za-z0-9+.-]*://", event.target):
        refusals.add(400)  # none of the request-target forms (RFC 9112 §3.2; h11 takes any)
    if event.method not in KNOWN_METHODS:
        refusals.add(400)  # the parser knows a fixed list of methods
    hosts = [v for n, v in fields if n == b"host"]
    if len(hosts) > 1 or not all(_HOST_VALUE.fullmatch(h) for h in hosts):
        refusals.add(400)  # RFC 9112 §3.2 (h11 checks only the count)
    if names.count(b"content-length") > 1 or any(
        n == b"content-length" and b"," in v for n, v in fields
    ):
        refusals.add(400)  # identical duplicates: RFC 9112 §6.3 allows reject; h11 merges them
    if b"content-length" in names and b"transfer-encoding" in names:
        refusals.add(400)  # RFC 9112 §6.1: a server may reject (smuggling)
    return refusals


def _target(target: bytes) -> tuple[str, str]:
    if target == b"*":
        return "*", ""
    if target.startswith(b"/"):
        path, _, query = target.partition(b"?")
    else:
        parts = urlsplit(target)
        path, query = parts.path or b"/", parts.query
    text = path.decode("latin-1")
    return unquote(text) if "%" in text else text, query.decode("latin-1")


def run_model(data: bytes) -> Outcome:
    """What a strict HTTP/1.1 server with the runtime's limits and policy answers to ``data``
    sent on one connection (no end of input)."""
    outcome = Outcome()
    offset = 0
    while True:
        # empty lines before a request line are ignored (RFC 9112 §2.2); h11 refuses them
        while data[offset : offset + 2] == b"\r\n" or data[offset : offset + 1] == b"\n":
            offset += 2 if data[offset : offset + 1] == b"\r" else 1
        if offset >= len(data):
            return outcome
        if data[offset:] == b"\r":  # maybe the start of another empty line
            outcome.tail_incomplete = True
            return outcome
        consumed = _one_request(data[offset:], outcome)
        if consumed is None:
            return outcome
        offset += consumed


def _one_request(rest: bytes, outcome: Outcome) -> int | None:
    """Model the request at the start of ``rest``: the bytes it took, or None when the
    connection is done (closed, or waiting for more bytes)."""
    raw = rest
    rest, squeezed = _squeeze_request_line(raw)
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=len(rest) + 1)
    conn.receive_data(rest)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError as exc:
        # a head both too large and invalid: which one is seen first depends on the pieces
        head_end = rest.find(b"\r\n\r\n")
        too_large = (head_end + 4 if head_end >= 0 else len(rest)) > MAX_HEAD_BYTES
        statuses = {exc.error_status_hint, 400} | ({431} if too_large else set())
        version = re.match(rb"[^\r\n]* HTTP/(\d\.\d)\r\n", rest)
        if version and version.group(1) not in (b"1.0", b"1.1"):
            statuses.add(505)  # the runtime may see the version first
        _refuse(outcome, statuses)
        return None
    if event is h11.NEED_DATA:
        if len(rest) > MAX_HEAD_BYTES:  # (the part received may already be invalid)
            _refuse(outcome, {431} | PROTOCOL_ERRORS)
        else:
            outcome.tail_incomplete = True
        return None
    assert isinstance(event, h11.Request)
    head_size = len(rest) - len(conn._receive_buffer) + squeezed  # h11 took exactly the head
    head = raw[:head_size]
    refusals = _policy(event, head)
    if head_size > MAX_HEAD_BYTES:
        refusals.add(431)
    if refusals:
        _refuse(outcome, refusals)
        return None
    consumed = _body(conn, event, head, rest, outcome)
    return None if consumed is None else consumed + squeezed


def _squeeze_request_line(rest: bytes) -> tuple[bytes, int]:
    """``rest`` with runs of spaces inside its request line made one (the runtime's parser
    splits the request line on whitespace runs, which RFC 9112 §3 allows; h11 does not), and
    how many bytes that removed."""
    end = rest.find(b"\r\n")
    if end < 0:
        return rest, 0
    line = re.sub(rb"(?<=[^ ]) {2,}(?=[^ ])", b" ", rest[:end])
    return line + rest[end:], end - len(line)


def _body(
    conn: h11.Connection, event: h11.Request, head: bytes, rest: bytes, outcome: Outcome
) -> int | None:
    fields = _raw_fields(head)
    lengths = [int(v) for n, v in fields if n == b"content-length"]
    if lengths and lengths[0] > BODY_LIMIT:
        _refuse(outcome, {413})  # answered before the body is read
        return None
    body = b""
    while True:
        try:
            ev = conn.next_event()
        except h11.RemoteProtocolError as exc:
            _refuse(outcome, {exc.error_status_hint} | {400})
            return None
        if ev is h11.NEED_DATA:
            outcome.tail_incomplete = True
            return None
        if isinstance(ev, h11.Data):
            body += ev.data
        elif isinstance(ev, h11.EndOfMessage):
            break
    framing = rest[len(head) : len(rest) - len(conn._receive_buffer)]
    if b"transfer-encoding" in {n for n, _ in fields} and _bad_chunk_line(framing):
        _refuse(outcome, {400})
        return None
    if len(body) > BODY_LIMIT:
        _refuse(outcome, {413})
        return None
    path, query = _target(event.target)
    outcome.items.append(
        Served(
            event.method.decode("latin-1"),
            path,
            query,
            tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in fields),
            body.decode("latin-1"),
        )
    )
    tokens = {t.strip().lower() for n, v in fields if n == b"connection" for t in v.split(b",")}
    upgrade = b"upgrade" in tokens and b"upgrade" in {n for n, _ in fields}
    keep_alive = (
        b"close" not in tokens
        and not upgrade  # upgrades are refused by serving plain HTTP/1.1 and closing
        and (event.http_version == b"1.1" or b"keep-alive" in tokens)
    )
    if not keep_alive:
        outcome.closed = True
        return None
    return len(rest) - len(conn._receive_buffer)


def _bad_chunk_line(wire: bytes) -> bool:
    """Whether a chunked body (already accepted by h11) has a line -- chunk size or trailer --
    ended by a bare LF or holding a bare CR (h11 lets both through there; the runtime's parser
    refuses them, as in a head)."""
    pos = 0
    while True:
        end = wire.index(b"\n", pos)
        line = wire[pos:end]
        if not line.endswith(b"\r") or not _CHUNK_SIZE_LINE.fullmatch(line[:-1]):
            return True
        size = int(line[:-1].split(b";")[0].strip(b" \t"), 16)
        pos = end + 1
        if size:
            pos += size + 2
            continue
        while True:  # trailer lines up to the empty one
            end = wire.index(b"\n", pos)
            if wire[end - 1 : end] != b"\r" or b"\r" in wire[pos : end - 1]:
                return True
            if end == pos + 1:
                return False
            pos = end + 1
