"""The client against a real ``aksml serve`` process on 127.0.0.1 (key auth, a real score.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aksml import contract as c
from aksml.client import RetryPolicy, ServiceConnectionError, ServiceResponseError, Webservice

AKSML = str(Path(sys.executable).parent / "aksml")
_PORT_LINE = re.compile(r"Liveness:\s+GET\s+http://127\.0\.0\.1:(\d+)/")

SCORE_PY = """
import json
import time
from pathlib import Path

MARKER = Path(__file__).with_name("slow-started")


def init():
    pass


def run(raw):
    data = json.loads(raw)
    if data.get("fail"):
        raise ValueError("boom")
    if data.get("slow"):
        MARKER.write_text("started")
        time.sleep(data["slow"])
    return {"sum": sum(data.get("data", []))}
"""


class Served:
    def __init__(self, app: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AKSML_", "AZUREML_"))}
        env["PYTHONUNBUFFERED"] = "1"
        self.app = app
        self.lines: list[str] = []
        self.port = 0
        self.process = subprocess.Popen(
            [AKSML, "serve", "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0",
             "--entry-script", str(app / "score.py"), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=app,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("aksml serve exited:\n" + "\n".join(self.lines))
            if self.port:
                try:
                    ready = httpx.get(f"http://127.0.0.1:{self.port}{c.READINESS_PATH}")
                    if ready.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError("aksml serve not ready:\n" + "\n".join(self.lines))

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            match = _PORT_LINE.search(line)
            if match and not self.port:
                self.port = int(match.group(1))

    def uri(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}{c.AML_PATH_PREFIX.format(name=name)}{c.SCORE_PATH}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app = tmp_path_factory.mktemp("e2e-app")
    (app / "score.py").write_text(SCORE_PY)
    server = Served(
        app,
        "--service-name", "e2e-svc",
        "--auth", "key", "--primary-key", "pk-e2e", "--secondary-key", "sk-e2e",
        "--max-concurrent-requests", "1", "--max-request-wait-ms", "50",
    )  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def test_run_with_key(served: Served) -> None:
    with Webservice(served.uri("e2e-svc"), key="pk-e2e") as ws:
        assert ws.run({"data": [1, 2, 3]}) == {"sum": 6}
        assert ws.run('{"data": [10]}') == {"sum": 10}
        assert ws.swagger_uri == served.uri("e2e-svc").replace("/score", "/swagger.json")
    with Webservice(served.uri("e2e-svc"), key="sk-e2e") as ws:
        assert ws.run(b'{"data": [2]}') == {"sum": 2}


def test_401_refresh_picks_up_the_right_key(served: Served) -> None:
    keys = iter([("stale-key", None), ("sk-e2e", None)])
    calls: list[int] = []

    def provider() -> tuple[str, str | None]:
        calls.append(1)
        return next(keys)

    with Webservice(served.uri("e2e-svc"), keys_provider=provider) as ws:
        assert ws.run({"data": [4, 5]}) == {"sum": 9}
    assert len(calls) == 2


def test_wrong_key_raises_401_with_request_id(served: Served) -> None:
    with (
        Webservice(served.uri("e2e-svc"), key="nope") as ws,
        pytest.raises(ServiceResponseError) as info,
    ):
        ws.run({"data": [1]})
    assert info.value.status_code == 401
    assert info.value.attempts == 2  # one refresh, then give up
    assert info.value.request_id
    assert "www-authenticate" in {k.lower() for k in info.value.headers}


def test_script_error_is_retried_then_reported(served: Served) -> None:
    sleeps = Sleeps()
    ws = Webservice(served.uri("e2e-svc"), key="pk-e2e", sleep=sleeps, retry=RetryPolicy(jitter=0))
    with ws, pytest.raises(ServiceResponseError) as info:
        ws.run({"fail": True})
    assert info.value.status_code == 502
    assert info.value.attempts == 4
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert info.value.message.startswith("Received bad response from service.")


def test_503_from_admission_is_backed_off(served: Served) -> None:
    marker = served.app / "slow-started"
    marker.unlink(missing_ok=True)
    slow_result: list[Any] = []
    slow = threading.Thread(
        target=lambda: slow_result.append(
            Webservice(served.uri("e2e-svc"), key="pk-e2e").run({"slow": 1.5, "data": [1]})
        )
    )
    slow.start()
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "slow request never started"
        sleeps = Sleeps()
        ws = Webservice(
            served.uri("e2e-svc"), key="pk-e2e", sleep=sleeps, retry=RetryPolicy(jitter=0)
        )
        with ws, pytest.raises(ServiceResponseError) as info:
            ws.run({"data": [1]})
        assert info.value.status_code == 503
        assert info.value.attempts == 4
        assert len(sleeps.delays) == 3
    finally:
        slow.join(timeout=30)
    assert slow_result == [{"sum": 1}]


def test_aksml_run_cli_against_serve(served: Served) -> None:
    done = subprocess.run(
        [AKSML, "run", "--scoring-uri", served.uri("e2e-svc"), "--data", '{"data": [7, 8]}'],
        capture_output=True, text=True, timeout=60, env={**os.environ, "AKSML_KEY": "pk-e2e"},
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, '{\n  "sum": 15\n}\n', "")


@pytest.fixture(scope="module")
def served_with_timeout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    app = tmp_path_factory.mktemp("e2e-timeout-app")
    (app / "score.py").write_text(SCORE_PY)
    server = Served(
        app, "--service-name", "slow-svc", "--auth", "none", "--scoring-timeout-ms", "300"
    )
    try:
        yield server
    finally:
        server.stop()


def test_scoring_timeout_is_a_504(served_with_timeout: Served) -> None:
    # retries=0: the timed-out run() still holds the replica's only slot for a while, so a
    # retry would meet a 503 (as on AKS); the 504 itself is what this checks
    ws = Webservice(served_with_timeout.uri("slow-svc"), retry=RetryPolicy(retries=0))
    with ws, pytest.raises(ServiceResponseError) as info:
        ws.run({"slow": 0.5})
    assert info.value.status_code == 504
    assert info.value.attempts == 1
    assert "timeout" in info.value.server_message.lower()
    with Webservice(served_with_timeout.uri("slow-svc")) as ws:
        assert ws.run({"data": [3]}) == {"sum": 3}  # the queue waits for the slot


def test_client_timeout_is_retried(served_with_timeout: Served) -> None:
    sleeps = Sleeps()
    ws = Webservice(
        served_with_timeout.uri("slow-svc"),
        timeout=0.05,
        sleep=sleeps,
        retry=RetryPolicy(retries=1, jitter=0),
    )
    with ws, pytest.raises(ServiceConnectionError, match="ReadTimeout") as info:
        ws.run({"slow": 0.2})
    assert info.value.attempts == 2
    assert sleeps.delays == [0.5]
