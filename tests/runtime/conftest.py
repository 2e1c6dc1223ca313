"""Fixtures for the runtime tests: real ``aksml serve`` processes on 127.0.0.1.

``serve(script, *args, env=...)`` starts a server on a free port (``--port 0``; the port is read
from the startup banner), waits for readiness and stops it (SIGTERM) at the end of the test.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

SCRIPTS = Path(__file__).parent / "scripts"
if str(Path(__file__).parent) not in sys.path:  # helper modules next to the tests
    sys.path.insert(0, str(Path(__file__).parent))
AKSML = str(Path(sys.executable).parent / "aksml")
_PORT_LINE = re.compile(r"Liveness:\s+GET\s+http://127\.0\.0\.1:(\d+)/")


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    """One ``aksml serve`` process and what it printed."""

    process: subprocess.Popen[str]
    port: int = 0
    metrics_port: int = 0
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return "\n".join(self.lines)

    def client(self, timeout: float = 10.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited {self.process.returncode}:\n{self.output()}")
            if self.port:
                try:
                    if httpx.get(self.url + "/-/ready", timeout=1.0).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"server not ready in {timeout}s:\n{self.output()}")

    def wait_exit(self, timeout: float = 30.0) -> int:
        code = self.process.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.wait_exit(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.wait_exit()


def start_server(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    metrics: bool = False,
    cwd: Path | None = None,
) -> RunningServer:
    """Start ``aksml serve`` with ``args`` (port flags added unless given)."""
    full = [AKSML, "serve", "--host", "127.0.0.1", "--port", "0", *args]
    metrics_port = free_port() if metrics else 0
    if "--metrics-port" not in args:
        full += ["--metrics-port", str(metrics_port)]
    run_env = {k: v for k, v in os.environ.items() if not k.startswith(("AKSML_", "AZUREML_"))}
    run_env["PYTHONUNBUFFERED"] = "1"
    run_env.update(env or {})
    process = subprocess.Popen(
        full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=run_env,
        cwd=cwd or SCRIPTS,
    )
    server = RunningServer(process, metrics_port=metrics_port)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.lines.append(line.rstrip("\n"))
            match = _PORT_LINE.search(line)
            if match and not server.port:
                server.port = int(match.group(1))

    server._reader = threading.Thread(target=read, daemon=True)
    server._reader.start()
    return server


@pytest.fixture
def serve() -> Iterator[Callable[..., RunningServer]]:
    """Factory: ``serve(script, *args, env=None, metrics=False, ready=True)``."""
    started: list[RunningServer] = []

    def factory(
        script: str | None,
        *args: str,
        env: dict[str, str] | None = None,
        metrics: bool = False,
        ready: bool = True,
        cwd: Path | None = None,
    ) -> RunningServer:
        full = ["--entry-script", str(SCRIPTS / script), *args] if script else list(args)
        server = start_server(full, env=env, metrics=metrics, cwd=cwd)
        started.append(server)
        if ready:
            server.wait_ready()
        return server

    yield factory
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.wait_exit()


@pytest.fixture(scope="session")
def scripts_dir() -> Path:
    """The directory of the score.py fixtures."""
    return SCRIPTS


@pytest.fixture(scope="module")
def plain() -> Iterator[RunningServer]:
    """One shared server for plain.py (service name ``svc``, 1000-byte body limit)."""
    server = start_server(
        [
            "--entry-script",
            str(SCRIPTS / "plain.py"),
            "--service-name",
            "svc",
            "--model-dir",
            "/models/m/1",
            "--max-body-bytes",
            "1000",
        ]
    )
    server.wait_ready()
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="session")
def start_server_fn() -> Callable[..., RunningServer]:
    """:func:`start_server` itself, for module-scoped fixtures in test files."""
    return start_server
