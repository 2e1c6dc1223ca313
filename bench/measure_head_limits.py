#!/usr/bin/env python3
"""How ``aksml serve`` handles ever larger request heads (one header line of 1-32 MiB):
status, time to answer and the runtime's RSS. Answers the question "is the request head
bounded?" with numbers; see docs/reliability.md ("Known gaps").

Usage: ``uv run python bench/measure_head_limits.py`` (about 10 s; loopback only).
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
from pathlib import Path

from benchproc import (
    BENCH_DIR,
    LOOPBACK,
    ManagedProcess,
    aksml_serve_argv,
    free_port,
    group_rss_bytes,
)

from aksml import contract as c

KEY = "bench-head-limits-key"


def send(port: int, header_bytes: int) -> tuple[str, float]:
    """POST /score with one header of ``header_bytes``; (status line, seconds)."""
    body = b'{"data": [[1.0]]}'
    head = (
        f"POST /score HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json"
        f"\r\nAuthorization: Bearer {KEY}\r\nContent-Length: {len(body)}\r\n"
        f"X-Big: {'a' * header_bytes}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection((LOOPBACK, port), timeout=120) as sock:
        try:
            sock.sendall(head + body)
            answer = sock.recv(200)
        except OSError as exc:
            return type(exc).__name__, time.monotonic() - started
    line = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(closed)"
    return line, time.monotonic() - started


def main() -> int:
    """Start a runtime, send heads of 1, 4, 8, 16 and 32 MiB, print a table."""
    port = free_port()
    argv = aksml_serve_argv(
        port=port,
        entry_script=BENCH_DIR / "score_trivial.py",
        extra={c.AUTH_MODE: "key"},
    )
    with tempfile.TemporaryDirectory() as tmp:
        proc = ManagedProcess("runtime", argv, Path(tmp), env={c.PRIMARY_KEY.env: KEY}).start()
        try:
            proc.wait_http(f"http://{LOOPBACK}:{port}{c.READINESS_PATH}")
            print("| header size | answer | seconds | runtime RSS MiB after |")
            print("|---:|---|---:|---:|")
            for mib in (1, 4, 8, 16, 32):
                line, seconds = send(port, mib << 20)
                rss = group_rss_bytes(proc.pid) / 2**20
                print(f"| {mib} MiB | {line} | {seconds:.2f} | {rss:.0f} |", flush=True)
        finally:
            proc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
