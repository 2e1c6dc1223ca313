"""The runtime's HTTP/1.1 protocol on its own: a real listener on 127.0.0.1, raw bytes over
real sockets, an application that answers now or later."""

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aksml.runtime import httpproto
from aksml.runtime.httpproto import HttpRequest, HttpServer, Response, find_head_end

LOOPBACK = "127.0.0.1"


class EchoApp:
    """Answers ``/now`` at once and ``/later`` from a future resolved by the test."""

    def __init__(self, limit: int = 1000) -> None:
        self.max_body_bytes = limit
        self.seen: list[HttpRequest] = []
        self.pending: list[asyncio.Future[Response]] = []

    def dispatch(self, request: HttpRequest) -> Response | asyncio.Future[Response]:
        self.seen.append(request)
        answer: Response = (
            413 if request.too_large else 200,
            [(b"content-type", b"application/json")],
            json.dumps(
                {"path": request.path, "body": request.body.decode(), "n": len(self.seen)}
            ).encode(),
        )
        if request.path == "/later":
            future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
            self.pending.append(future)
            asyncio.get_running_loop().call_later(0.05, future.set_result, answer)
            return future
        if request.path == "/boom":
            raise RuntimeError("app bug")
        return answer


Scenario = Callable[[EchoApp, int], Awaitable[None]]


def serve(scenario: Scenario, app: EchoApp | None = None) -> EchoApp:
    app = app or EchoApp()

    async def main() -> None:
        server = HttpServer(app)
        port = await server.start(LOOPBACK, 0)
        try:
            await asyncio.wait_for(scenario(app, port), 20)
        finally:
            await server.shutdown(1.0)

    asyncio.run(main())
    return app


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return status, headers, body


def post(path: str, body: bytes, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        for i in range(3):
            writer.write(post("/now", b"x%d" % i))
            status, headers, body = await read_response(reader)
            assert status == 200 and json.loads(body)["body"] == f"x{i}"
            assert "connection" not in headers and headers["date"].endswith("GMT")
        writer.close()

    app = serve(scenario)
    assert len(app.seen) == 3


def test_pipelined_requests_are_answered_in_order_even_when_the_first_is_slow() -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(post("/later", b"first") + post("/now", b"second") + post("/now", b"third"))
        bodies = [json.loads((await read_response(reader))[2])["body"] for _ in range(3)]
        assert bodies == ["first", "second", "third"]
        writer.close()

    serve(scenario)


@pytest.mark.parametrize(
    ("request_head", "closes"),
    [
        (b"GET /now HTTP/1.0\r\n\r\n", True),
        (b"GET /now HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", False),
        (b"GET /now HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", True),
    ],
)
def test_connection_close_and_http_1_0(request_head: bytes, closes: bool) -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(request_head)
        status, headers, _ = await read_response(reader)
        assert status == 200
        assert (headers.get("connection") == "close") is closes
        if closes:
            assert await reader.read() == b""
        writer.close()

    serve(scenario)


def test_expect_100_continue_is_answered_before_the_body() -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(
            b"POST /now HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = await reader.readuntil(b"\r\n\r\n")
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        writer.write(b"hello")
        status, _, body = await read_response(reader)
        assert status == 200 and json.loads(body)["body"] == "hello"
        writer.close()

    serve(scenario)


def test_head_gets_the_length_but_no_body() -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(b"HEAD /now HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"content-length: " in head and not head.endswith(b"content-length: 0\r\n\r\n")
        writer.write(b"GET /now HTTP/1.1\r\nHost: x\r\n\r\n")  # the next response follows at once
        status, _, body = await read_response(reader)
        assert status == 200 and json.loads(body)["n"] == 2
        writer.close()

    serve(scenario)


@pytest.mark.parametrize(
    "raw",
    [
        b"HELLO THERE\r\n\r\n",
        b"GET /now HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        bytes(range(256)),
    ],
)
def test_malformed_requests_get_a_json_400_and_the_connection_closes(raw: bytes) -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(raw)
        status, headers, body = await read_response(reader)
        assert status == 400 and headers["connection"] == "close"
        assert "message" in json.loads(body)
        assert await reader.read() == b""
        writer.close()

    app = serve(scenario)
    assert app.seen == []


def test_an_application_error_is_a_json_500_not_a_dead_connection() -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body = await read_response(reader)
        assert status == 500 and "message" in json.loads(body)
        writer.write(b"GET /now HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader))[0] == 200
        writer.close()

    serve(scenario)


def test_a_declared_body_over_the_limit_is_answered_before_it_is_sent() -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(b"POST /now HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
        status, headers, _ = await read_response(reader)  # no body byte was sent
        assert status == 413 and headers["connection"] == "close"
        writer.close()

    app = serve(scenario, EchoApp(limit=1000))
    assert app.seen[0].too_large and app.seen[0].body == b""


def test_a_chunked_body_over_the_limit_is_counted_not_kept() -> None:
    chunks = b"".join(b"%x\r\n" % 400 + b"y" * 400 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n"

    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(
            b"POST /now HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
        )
        status, headers, _ = await read_response(reader)
        assert status == 413 and headers["connection"] == "close"
        writer.close()

    app = serve(scenario, EchoApp(limit=1000))
    assert app.seen[0].too_large and app.seen[0].body == b""


def test_a_chunked_body_under_the_limit_arrives_whole() -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(
            b"POST /now HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        status, _, body = await read_response(reader)
        assert status == 200 and json.loads(body)["body"] == "abcde"
        writer.close()

    serve(scenario)


def test_percent_encoded_paths_are_decoded() -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(b"GET /n%6Fw?a=%20 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader))[0] == 200
        writer.close()

    app = serve(scenario)
    assert app.seen[0].path == "/now" and app.seen[0].query == b"a=%20"


def test_a_slow_head_is_cut_off_with_408_and_an_idle_connection_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(httpproto, "HEAD_TIMEOUT_S", 0.3)
    monkeypatch.setattr(httpproto, "KEEP_ALIVE_TIMEOUT_S", 0.3)
    monkeypatch.setattr(httpproto, "SWEEP_INTERVAL_S", 0.05)

    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(b"GET /now HTTP/1.1\r\nHo")  # never finished
        status, headers, _ = await read_response(reader)
        assert status == 408 and headers["connection"] == "close"
        assert await reader.read() == b""
        writer.close()
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(b"GET /now HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await read_response(reader))[0] == 200
        assert await reader.read() == b""  # closed by the server after the idle timeout
        writer.close()

    app = serve(scenario)
    assert len(app.seen) == 1


def test_shutdown_lets_a_busy_connection_finish_its_response() -> None:
    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(b"GET /later HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.sleep(0.01)
        shutdown = asyncio.ensure_future(server_ref[0].shutdown(2.0))
        status, headers, _ = await read_response(reader)
        assert status == 200 and headers["connection"] == "close"
        await shutdown

    server_ref: list[HttpServer] = []

    async def main() -> None:
        app = EchoApp()
        server = HttpServer(app)
        server_ref.append(server)
        port = await server.start(LOOPBACK, 0)
        await asyncio.wait_for(scenario(app, port), 20)

    asyncio.run(main())


class DeepApp(EchoApp):
    """Records the stack depth and the connection's backlog at every dispatch; ``/big``
    answers 1 MiB, ``/never`` a future nobody resolves."""

    def __init__(self) -> None:
        super().__init__()
        self.server: HttpServer | None = None
        self.depths: list[int] = []
        self.backlogs: list[int] = []

    def dispatch(self, request: HttpRequest) -> Response | asyncio.Future[Response]:
        depth, frame = 0, sys._getframe()
        while frame is not None:
            depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
        self.depths.append(depth)
        assert self.server is not None
        self.backlogs += [len(conn.pipeline) for conn in self.server.connections]
        if request.path == "/big":
            return 200, [], b"b" * (1 << 20)
        if request.path == "/never":
            return asyncio.get_running_loop().create_future()
        return super().dispatch(request)


def serve_deep(
    scenario: Callable[[DeepApp, HttpServer, int], Awaitable[None]], **kw: float
) -> DeepApp:
    app = DeepApp()

    async def main() -> None:
        server = HttpServer(app, **kw)  # type: ignore[arg-type]
        app.server = server
        port = await server.start(LOOPBACK, 0)
        try:
            await asyncio.wait_for(scenario(app, server, port), 20)
        finally:
            await server.shutdown(1.0)

    asyncio.run(main())
    return app


def test_a_thousand_pipelined_requests_need_no_recursion_and_a_bounded_backlog() -> None:
    async def scenario(app: DeepApp, server: HttpServer, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(post("/later", b"first") + b"GET /now HTTP/1.1\r\nHost: x\r\n\r\n" * 999)
        ns = [json.loads((await read_response(reader))[2])["n"] for _ in range(1000)]
        assert ns == list(range(1, 1001))
        writer.close()

    app = serve_deep(scenario)
    assert max(app.depths) - min(app.depths) <= 5  # the same depth for the 1st and 1000th
    assert max(app.backlogs) <= httpproto.MAX_PIPELINED


def test_a_slow_body_gets_408_at_the_overall_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpproto, "BODY_TIMEOUT_S", 0.5)
    monkeypatch.setattr(httpproto, "SWEEP_INTERVAL_S", 0.05)

    async def scenario(app: EchoApp, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(b"POST /now HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        started = asyncio.get_running_loop().time()
        trickle = asyncio.ensure_future(_trickle(writer))
        status, headers, body = await read_response(reader)
        trickle.cancel()
        assert status == 408 and headers["connection"] == "close" and "message" in json.loads(body)
        assert asyncio.get_running_loop().time() - started < 5  # the idle limit never fired
        writer.close()

    app = serve(scenario)
    assert app.seen == []


async def _trickle(writer: asyncio.StreamWriter) -> None:
    while True:
        writer.write(b"x")  # one byte every 0.1 s: never idle, never finished
        await asyncio.sleep(0.1)


def test_a_client_that_does_not_read_its_responses_is_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(httpproto, "SEND_TIMEOUT_S", 0.3)
    monkeypatch.setattr(httpproto, "SWEEP_INTERVAL_S", 0.05)

    async def scenario(app: DeepApp, server: HttpServer, port: int) -> None:
        _, writer = await asyncio.open_connection(LOOPBACK, port, limit=1024)
        writer.transport.pause_reading()  # never read: the server's write buffer fills up
        writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n" * 40)
        for _ in range(100):
            await asyncio.sleep(0.05)
            if not server.connections:
                break
        assert not server.connections
        writer.close()

    app = serve_deep(scenario)
    assert len(app.depths) < 40  # dispatching stopped while the client did not read


def test_a_response_the_application_never_gives_does_not_hold_the_connection() -> None:
    async def scenario(app: DeepApp, server: HttpServer, port: int) -> None:
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        writer.write(b"GET /never HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # dropped by the backstop
        writer.close()

    serve_deep(scenario, response_timeout_s=0.3)


def test_connections_past_the_cap_are_closed_at_once() -> None:
    async def scenario(app: DeepApp, server: HttpServer, port: int) -> None:
        kept = [await asyncio.open_connection(LOOPBACK, port) for _ in range(2)]
        await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection(LOOPBACK, port)
        with contextlib.suppress(ConnectionResetError):
            assert await reader.read() == b""
        writer.close()
        assert server.refused == 1
        for r, w in kept:  # the first two still work
            w.write(b"GET /now HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await read_response(r))[0] == 200
            w.close()

    serve_deep(scenario, max_connections=2)


@settings(max_examples=400, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"\r\n\r\n", b"a", b"{}"]), max_size=60),
    start=st.integers(min_value=0, max_value=80),
)
def test_find_head_end_is_bytes_find(data: list[bytes], start: int) -> None:
    """The memchr-based search answers exactly what ``bytes.find`` answers, also on input
    with more CRs than it steps over before falling back."""
    blob = b"".join(data)
    assert find_head_end(blob, start) == blob.find(b"\r\n\r\n", start)
