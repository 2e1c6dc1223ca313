"""azureml-inference-server-http 1.5.1 (the reference server) for differential tests: its own
virtualenv (``bench/setup_reference.sh``, which also installs numpy and pandas at the project's
versions) and ``bench/ref_loopback.py`` to bind it to 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def reference_python() -> Path:
    """The reference venv's interpreter (created on first use)."""
    out = subprocess.run(
        [str(ROOT / "bench" / "setup_reference.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, f"bench/setup_reference.sh failed:\n{out.stderr}"
    return Path(out.stdout.strip().splitlines()[-1]) / "bin" / "python"


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"reference exited {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"reference not up in 90 s:\n{log.read_text()}")


@contextmanager
def running_reference(script: Path, workdir: Path) -> Iterator[str]:
    """azmlinfsrv 1.5.1 serving ``script`` on 127.0.0.1 (yields its base URL)."""
    python = reference_python()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = workdir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AKSML_", "AZUREML_", "AML_"))}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                str(python),
                str(ROOT / "bench" / "ref_loopback.py"),
                "--entry_script",
                str(script),
                "--port",
                str(port),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/", process, log)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)  # gunicorn's master stops its worker
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
