#!/usr/bin/env python3
"""The smallest Python HTTP server this machine can run, for the benchmarks' ceiling rows: one
uvloop event loop, the httptools parser, the trivial run() called inline on the loop, a fixed
response. No auth, no admission, no request ids, no timeouts -- not a server to deploy, only
the floor of per-request cost that any Python server (aksml included) pays here.

Usage: python bench/bare_python_server.py PORT
"""

import asyncio
import json
import sys

import httptools
import uvloop


def run(raw_data: str) -> dict[str, int]:
    """The same work as bench/score_trivial.py."""
    return {"rows": len(json.loads(raw_data)["data"])}


class Bare(asyncio.Protocol):
    """Parse, call run(), answer; keep-alive only."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)
        self.body: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        raw = b"".join(self.body)
        out = json.dumps(run(raw.decode())).encode() if raw else b"{}"  # GET: a liveness probe
        self.body = []
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (len(out), out)
        )


async def main(port: int) -> None:
    """Serve on 127.0.0.1:PORT until killed."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Bare, "127.0.0.1", port)
    print(f"bare python server on 127.0.0.1:{port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
