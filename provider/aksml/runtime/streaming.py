"""Streamed response bodies: a ``run()`` that returns ``AMLResponse(generator, 200)`` has its
chunks sent as they are produced (chunked transfer encoding), as azureml-inference-server-http
streams a Flask response with a generator body.

The generator runs on the ``run()`` thread that called ``run()`` -- it keeps its admission slot
until the generator is exhausted, and the scoring timeout covers the whole stream -- and hands
each chunk to the event loop through a :class:`ThreadedStream`, the body object the HTTP
protocol (:class:`aksml.runtime.httpproto.StreamBody`) writes from. The producer waits while the
client reads slower than the generator produces (the transport's write buffer is full).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from aksml.runtime.httpproto import StreamSink

log = logging.getLogger("aksml.runtime")

POLL_S = 0.05
"""How often a producer waiting for the client re-checks cancellation and its deadline."""

MAX_QUEUED_CHUNKS = 4
"""Chunks handed to the loop but not yet written: the producer waits beyond this, so a busy
loop cannot let a fast generator queue an unbounded body before ``pause()`` reaches it."""


class ThreadedStream:
    """A response body produced on another thread and written on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """A body whose chunks will be written on ``loop``."""
        self._loop = loop
        self._sink: StreamSink | None = None
        self._pending: list[bytes] = []
        self._ended = False
        self._aborted = False
        self._writable = threading.Event()
        self._writable.set()
        self._slots = threading.Semaphore(MAX_QUEUED_CHUNKS)
        self.cancelled = False
        """Set when the client went away or the stream was aborted: the producer stops."""

    # --- producer side (the run() thread) ---------------------------------------------------

    def put(self, data: bytes, deadline: float) -> bool:
        """Hand one chunk to the loop (waiting while the client is slow); False when the
        producer must stop (cancelled, or ``deadline``, a ``perf_counter`` time, passed)."""
        while True:
            if self.cancelled or time.perf_counter() >= deadline:
                return False
            if self._writable.wait(POLL_S) and self._slots.acquire(timeout=POLL_S):
                return self._post(self._deliver, data)

    def finish(self) -> None:
        """The body is complete."""
        self._post(self._end)

    def abort(self) -> None:
        """Stop: the connection is closed without completing the body (the client sees a
        truncated response)."""
        self.cancelled = True
        self._post(self._abort)

    def _post(self, callback: Any, *args: Any) -> bool:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: the server has stopped
            self.cancelled = True
            return False
        return True

    # --- loop side (httpproto.StreamBody) ------------------------------------------------------

    def attach(self, sink: StreamSink) -> None:
        """The head is written: write what is pending and everything that follows to ``sink``."""
        self._sink = sink
        pending, self._pending = self._pending, []
        for data in pending:
            sink.send_chunk(data)
            self._slots.release()
        if self._aborted:
            sink.abort_stream()
        elif self._ended:
            sink.end_stream()

    def pause(self) -> None:
        """The client's write buffer is full: the producer waits."""
        self._writable.clear()

    def resume(self) -> None:
        """The write buffer drained: the producer goes on."""
        self._writable.set()

    def cancel(self) -> None:
        """The connection is gone (or the request was HEAD): the producer stops."""
        self.cancelled = True
        self._writable.set()

    def _deliver(self, data: bytes) -> None:
        if self._sink is None:
            self._pending.append(data)  # its slot comes back when attach() writes it
            return
        if not self._aborted:
            self._sink.send_chunk(data)
        self._slots.release()

    def _end(self) -> None:
        self._ended = True
        if self._sink is not None and not self._aborted:
            self._sink.end_stream()

    def _abort(self) -> None:
        if self._aborted:
            return
        self._aborted = True
        if self._sink is not None:
            self._sink.abort_stream()


def pump(response: Any, stream: ThreadedStream, deadline: float) -> None:
    """Iterate a werkzeug response's body into ``stream`` until it ends, the client leaves or
    ``deadline`` passes (then the connection is cut); always closes the response."""
    try:
        for chunk in response.iter_encoded():
            if chunk and not stream.put(bytes(chunk), deadline):
                break
        else:
            stream.finish()
            return
        if not stream.cancelled:
            log.warning("streamed response exceeded the scoring timeout; connection closed")
    except BaseException:  # the user's generator may raise anything
        log.exception("the streamed response of run() raised; connection closed")
    finally:
        response.close()
    stream.abort()
