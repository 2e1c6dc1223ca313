"""uvicorn's httptools protocol with a bounded request head.

httptools accumulates a header line until it is complete, so an unbounded head lets any
client that can connect (authentication runs only after the head) spend seconds of CPU and
memory per request: a 32 MiB header cost about 3 s. This protocol counts the bytes of each
request head as they arrive and answers ``431`` (JSON ``message``, connection closed) once the
head exceeds :data:`MAX_HEAD_BYTES`, before httptools sees the excess.
"""

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
"""Largest accepted request line + headers (nginx's default large_client_header_buffers is
4 x 8 KiB; Azure Front Door and most proxies allow 32-64 KiB)."""

_END_OF_HEAD = b"\r\n\r\n"
_TOO_LARGE_BODY = json.dumps({"message": "Request header fields too large"}).encode()
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_TOO_LARGE_BODY)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _TOO_LARGE_BODY
)


class BoundedHeadHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that rejects request heads larger than :data:`MAX_HEAD_BYTES`."""

    _in_head = True
    _head_bytes = 0
    _tail = b""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._tail = b""
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            window = self._tail + data
            end = window.find(_END_OF_HEAD)
            counted = len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            self._head_bytes += counted
            if self._head_bytes > MAX_HEAD_BYTES:
                self.transport.write(_TOO_LARGE)
                self.transport.close()
                return
            self._tail = window[-3:]
        super().data_received(data)
