"""Liveness before init(), the health port, the reference's import path and the environment a
script sees under ``aksml serve`` (real processes, real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from aksml import contract as c
from aksml.runtime.backends import ThreadBackend
from aksml.runtime.settings import RuntimeSettings

KUBELET = {"User-Agent": "kube-probe/1.30"}
"""What the kubelet's probes send (the rendered liveness probe calls / on the scoring port and
readiness /-/ready: see the golden Deployment manifests)."""


def _wait_port(server: Any) -> None:
    deadline = time.monotonic() + 30
    while not server.port and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.port, server.output()


def test_liveness_follows_init_except_for_the_kubelet(serve: Callable[..., Any]) -> None:
    server = serve("slow_init.py", ready=False, env={"SLOW_INIT_S": "3"})
    _wait_port(server)
    with server.client() as client:
        early = client.get(c.LIVENESS_PATH)
        probe = client.get(c.LIVENESS_PATH, headers=KUBELET)
        score = client.post(c.SCORE_PATH, content=b"{}")
    # a local client polling / then scoring is not told "OK" before init() returned ...
    assert early.status_code == 503
    assert early.json()["message"].startswith("The service is not ready yet")
    assert score.status_code == 503
    # ... while the kubelet's liveness probe sees a live process during a long init()
    assert (probe.status_code, probe.text) == (200, "Healthy")
    server.wait_ready()
    with server.client() as client:
        assert client.get(c.LIVENESS_PATH).text == "Healthy"
        assert client.post(c.SCORE_PATH, content=b"{}").json() == {"ok": True}


def test_health_port_serves_the_same_paths(serve: Callable[..., Any]) -> None:
    with socket.socket() as sock:  # a free port (0 means "no health port")
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = serve("modern_import.py", "--health-port", str(port))
    assert any(f"Health:    GET  http://127.0.0.1:{port}/" in line for line in server.lines)
    health = f"http://127.0.0.1:{port}"
    live = httpx.get(health + c.LIVENESS_PATH, timeout=5)
    assert (live.status_code, live.text) == (200, "Healthy")
    assert httpx.get(health + c.READINESS_PATH, timeout=5).status_code == 200
    scored = httpx.post(health + c.SCORE_PATH, content=b"{}", timeout=5)  # every path, as
    assert scored.status_code == 200  # gunicorn's second bind served the whole app


def test_modern_import_path_and_script_environment(serve: Callable[..., Any]) -> None:
    server = serve("modern_import.py")
    with server.client() as client:
        seen = client.post(c.SCORE_PATH, content=b"{}").json()
    assert seen["AML_APP_INSIGHTS_ENABLED"] == "false"
    assert seen["AZUREML_MODEL_DIR"] == "__NONE__"  # unset, not "", when no model dir is given


def test_sigterm_during_init_exits_cleanly(serve: Callable[..., Any]) -> None:
    server = serve("slow_init.py", ready=False, env={"SLOW_INIT_S": "2"})
    _wait_port(server)
    server.process.send_signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    assert "Traceback" not in server.output()


def test_init_finishing_after_the_loop_closed_raises_nothing(
    scripts_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run() thread that ran init() must not fail (``Event loop is closed``) when the
    server stopped meanwhile."""
    # loading the script exports its variables and extends sys.path: keep them to this test
    monkeypatch.setattr(os, "environ", {**os.environ, "SLOW_INIT_S": "1"})
    monkeypatch.setattr(sys, "path", list(sys.path))
    failures: list[BaseException | None] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: failures.append(args.exc_value)
    try:
        settings = RuntimeSettings(
            entry_script=scripts_dir / "slow_init.py", app_root=scripts_dir, metrics_port=0
        )
        backend = ThreadBackend(settings)

        async def start_then_stop() -> None:
            task = asyncio.ensure_future(backend.start())
            await asyncio.sleep(0.2)
            task.cancel()

        asyncio.run(start_then_stop())  # the loop is closed here; init() still runs
        for thread in backend._threads:
            thread.join(timeout=10)
    finally:
        threading.excepthook = previous
    assert failures == []
