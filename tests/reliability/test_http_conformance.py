"""Differential conformance of the runtime's HTTP/1.1 protocol against h11 (see ``httpconf``).

Hypothesis generates request streams -- pipelined requests, Content-Length and chunked bodies
(extensions, trailers), obs-fold, duplicate and conflicting framing headers, Host variants,
upgrades, Expect, HTTP/1.0, 0.9 and other versions, heads at the 64 KiB limit, bodies at the
application's limit, trailing garbage -- and mutates some of them byte by byte, then delivers
each stream whole and cut at random points, with the application answering at once and from
futures. The runtime must take the same framing decisions as the model: the same requests
(method, target, headers, body) in the same order, the same refusals (400/413/431/501/505),
and the connection closed at the same point. A second test cuts a fixed corpus at every byte
boundary and also feeds it one byte at a time.

The number of examples is fixed (and the run derandomized) so the suite's time is bounded;
``AKSML_RELIABILITY_LONG=1`` runs ten times as many.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator

import pytest
from httpconf import (
    BODY_LIMIT,
    KNOWN_METHODS,
    Outcome,
    Served,
    matches,
    run_model,
    run_runtime,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from relkit import is_long, report

from aksml.runtime.httpproto import MAX_HEAD_BYTES

EXAMPLES = 10_000 if is_long() else 1000
"""Generated streams per run (each delivered four ways)."""

COUNTS = {"generated": 0, "streams": 0, "deliveries": 0, "requests": 0, "refusals": 0}


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for all deliveries (deferred answers need one)."""
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


# --- generators ---------------------------------------------------------------------------------

_TOKEN = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12
)
_VALUE = st.binary(max_size=24).map(
    lambda b: bytes(c for c in b if 0x20 <= c < 0x7F or c == 0x09).strip(b" \t")
)
_TARGETS = [
    b"/",
    b"/score",
    b"/a%20b?x=1&y=%2F",
    b"/x/../score?",
    b"//double",
    b"http://example.com/p?q=1",
    b"/{weird}|^`",
]


@st.composite
def chunked_body(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(wire bytes, decoded body) of a chunked body with optional extensions and trailers."""
    chunks = draw(st.lists(st.binary(min_size=1, max_size=400), max_size=4))
    wire = b""
    for chunk in chunks:
        ext = draw(st.sampled_from([b"", b";a=b", b';name="q"']))
        wire += b"%x%s\r\n%s\r\n" % (len(chunk), ext, chunk)
    wire += b"0\r\n"
    for name, value in draw(st.lists(st.tuples(_TOKEN, _VALUE), max_size=2)):
        wire += name.encode() + b": " + value + b"\r\n"
    return wire + b"\r\n", b"".join(chunks)


@st.composite
def framing(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    """(framing header lines, body wire bytes)."""
    kind = draw(
        st.sampled_from(
            ["none"] * 3
            + ["length"] * 3
            + ["chunked"] * 2
            + [
                "big-length",
                "dup-length",
                "list-length",
                "length+chunked",
                "gzip,chunked",
                "chunked-twice",
                "plus-length",
            ]
        )
    )
    body = draw(st.binary(max_size=300))
    if kind == "none":
        return [], b""
    if kind == "length":
        return [b"Content-Length: %d" % len(body)], body
    if kind == "big-length":
        size = draw(st.sampled_from([BODY_LIMIT, BODY_LIMIT + 1, 10**12]))
        return [b"Content-Length: %d" % size], b"x" * min(size, BODY_LIMIT + 1)
    if kind == "dup-length":
        return [b"Content-Length: %d" % len(body)] * 2, body
    if kind == "list-length":
        return [b"Content-Length: %d, %d" % (len(body), len(body))], body
    if kind == "plus-length":
        return [b"Content-Length: +%d" % len(body)], body
    wire, _ = draw(chunked_body())
    if kind == "chunked":
        return [
            draw(st.sampled_from([b"Transfer-Encoding: chunked", b"Transfer-Encoding: Chunked"]))
        ], wire
    if kind == "length+chunked":
        return [b"Content-Length: %d" % len(wire), b"Transfer-Encoding: chunked"], wire
    if kind == "gzip,chunked":
        return [b"Transfer-Encoding: gzip, chunked"], wire
    return [b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"], wire


@st.composite
def request(draw: st.DrawFn, head_size: int | None = None) -> bytes:
    """One request's bytes; ``head_size`` pads the head to exactly that many bytes."""
    method = draw(st.sampled_from(sorted(KNOWN_METHODS) + [b"POST"] * 4 + [b"FOO"]))
    target = draw(st.sampled_from(_TARGETS))
    version = draw(st.sampled_from([b"1.1"] * 8 + [b"1.0"] * 2 + [b"0.9", b"2.0", b"1.2"]))
    if version == b"0.9":
        return method + b" " + target + b"\r\n\r\n"
    lines = [method + b" " + target + b" HTTP/" + version]
    hosts = draw(st.sampled_from([[b"x"]] * 6 + [[], [b"a", b"b"], [b"a b"], [b"[::1]:80"]]))
    lines += [b"Host: " + h for h in hosts]
    lines += [
        n.encode() + b": " + v for n, v in draw(st.lists(st.tuples(_TOKEN, _VALUE), max_size=3))
    ]
    connection = draw(
        st.sampled_from([None] * 6 + [b"close", b"keep-alive", b"Upgrade", b"keep-alive, Upgrade"])
    )
    if connection is not None:
        lines.append(b"Connection: " + connection)
    if draw(st.integers(0, 5)) == 0:
        lines.append(b"Upgrade: " + draw(st.sampled_from([b"h2c", b"websocket"])))
    if draw(st.integers(0, 5)) == 0:
        lines.append(b"Expect: 100-continue")
    if draw(st.integers(0, 15)) == 0:
        lines.append(b"X-Folded: a\r\n b")  # obs-fold
    if draw(st.integers(0, 10)) == 0:
        lines.append(b"X-Ows: v \t ")  # trailing whitespace is not part of the value
    frame_lines, body = draw(framing())
    lines += frame_lines
    head = b"\r\n".join(lines) + b"\r\n"
    if head_size is not None:
        pad = head_size - len(head) - len(b"X-Pad: \r\n\r\n")
        head += b"X-Pad: " + b"p" * max(pad, 0) + b"\r\n"
    return head + b"\r\n" + body


@st.composite
def stream(draw: st.DrawFn) -> bytes:
    """Pipelined requests, maybe one at the head limit, maybe garbage, maybe mutated."""
    at_limit = draw(st.integers(0, 9)) == 0
    count = draw(st.integers(1, 4))
    requests = []
    for i in range(count):
        size = None
        if at_limit and i == count - 1:
            size = MAX_HEAD_BYTES + draw(st.sampled_from([-1, 0, 1, 2, 1000]))
        requests.append(draw(request(size)))
    data = b"".join(draw(st.sampled_from([b"", b"", b"\r\n"])) + r for r in requests)
    if draw(st.integers(0, 7)) == 0:
        data += draw(st.sampled_from([b"GARBAGE\r\n\r\n", b"\x00\x01\x02", b"GET / HTTP/1.1\r\n"]))
    if not at_limit and draw(st.integers(0, 3)) == 0:
        data = draw(mutated(data))
    if draw(st.integers(0, 7)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """A few byte flips, insertions and deletions (CR, LF, space, colon, NUL, random)."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        if not out:
            break
        pos = draw(st.integers(0, len(out) - 1))
        byte = draw(st.sampled_from([13, 10, 32, 58, 0, 9]) | st.integers(0, 255))
        action = draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "flip":
            out[pos] = byte
        elif action == "insert":
            out.insert(pos, byte)
        else:
            del out[pos]
    return bytes(out)


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at ``cuts``."""
    points = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


# --- the tests ----------------------------------------------------------------------------------


def _short(data: bytes) -> str:
    """The stream for a failure message (a padded head is mostly one byte repeated)."""
    return repr(re.sub(rb"(.)\1{40,}", lambda m: m.group(1) + b"<x%d>" % len(m.group(0)), data))


def check(data: bytes, cuts: list[int], loop: asyncio.AbstractEventLoop) -> Outcome:
    """Deliver ``data`` whole and in pieces, answers now and deferred; all must match."""
    model = run_model(data)
    for parts in ([data] if data else [], pieces(data, cuts)):
        for deferred in (False, True):
            got = run_runtime(parts, deferred, loop)
            COUNTS["deliveries"] += 1
            assert matches(got, model), (
                f"\nstream={_short(data)}\npieces={[len(p) for p in parts]} deferred={deferred}"
                f"\nruntime={got}\nmodel={model}"
            )
    COUNTS["streams"] += 1
    COUNTS["requests"] += len(model.items)
    COUNTS["refusals"] += sum(not hasattr(i, "method") for i in model.items)
    return model


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_runtime_frames_generated_streams_like_h11(
    loop: asyncio.AbstractEventLoop, data: st.DataObject
) -> None:
    raw = data.draw(stream(), label="stream")
    cuts = data.draw(st.lists(st.integers(0, max(len(raw), 1)), max_size=6), label="cuts")
    check(raw, cuts, loop)
    COUNTS["generated"] += 1


CORPUS = {
    "pipelined gets": b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
    "length body then get": b"POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "chunked with trailers": b"POST /s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3;e=1\r\nabc\r\n4\r\n\r\n\r\n\r\n0\r\nAuthorization: Bearer t\r\nX-Request-Id: t\r\n\r\n"
    b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n",
    "upgrade with body": b"POST /s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
    b'Content-Length: 7\r\n\r\n{"a":1}GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    "upgrade chunked": b"POST /s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
    b"Upgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
    "valid then garbage": b"GET / HTTP/1.1\r\nHost: x\r\n\r\nHELLO THERE\r\n\r\n",
    "two hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "no host": b"GET / HTTP/1.1\r\n\r\n",
    "http/1.0 keep-alive": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n"
    b"GET /never HTTP/1.1\r\nHost: x\r\n\r\n",
    "http/0.9": b"GET /\r\n\r\n",
    "http/2.0": b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
    "length and chunked": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "gzip chunked": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    b"0\r\n\r\n",
    "expect then close": b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
    b"Content-Length: 2\r\nConnection: close\r\n\r\nhiGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "over the body limit": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"
    + b"x" * 40,
    "leading blank lines": b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_byte_boundary(name: str, loop: asyncio.AbstractEventLoop) -> None:
    data = CORPUS[name]
    for cut in range(1, len(data)):
        check(data, [cut], loop)
    check(data, list(range(len(data))), loop)  # one byte at a time


def test_heads_at_the_limit_after_other_requests(loop: asyncio.AbstractEventLoop) -> None:
    """A head of exactly MAX_HEAD_BYTES is served, one byte more is 431 -- also when it is
    the second, third or fourth request in one read, after bodies of every framing."""
    first = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"1\r\na\r\n0\r\nT: 1\r\n\r\n",
    ]
    for prefix in first:
        for extra in (-1, 0, 1, 2):
            size = MAX_HEAD_BYTES + extra
            head = b"GET /big HTTP/1.1\r\nHost: x\r\nX-Pad: "
            big = head + b"p" * (size - len(head) - 4) + b"\r\n\r\n"
            assert len(big) == size
            model = check(prefix + big, [len(prefix) // 2, len(prefix) + 100], loop)
            assert isinstance(model.items[-1], Served) is (extra <= 0), (prefix, extra)


def test_report_conformance_figures() -> None:
    """Runs last in this module: records the figures for docs/reliability.md."""
    if not COUNTS["streams"]:
        pytest.skip("reports the figures of the module's other tests; run the whole module")
    report(
        "HTTP/1.1 protocol conformance (differential, h11)",
        test="tests/reliability/test_http_conformance.py",
        load="generated request streams vs the h11 model, whole and cut, answers now and later",
        faults=f"{COUNTS['generated']} generated streams, {COUNTS['streams']} streams in all "
        f"with the fixed ones cut at every byte ({COUNTS['requests']} requests, "
        f"{COUNTS['refusals']} refusals expected), {COUNTS['deliveries']} deliveries",
        requests=COUNTS["deliveries"],
        lost=0,
    )
