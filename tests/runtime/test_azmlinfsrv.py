"""The ``azmlinfsrv`` command: azureml-inference-server-http 1.5.1's command line, environment,
configuration file and log lines, served by aksml (real processes, real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

SCRIPTS = Path(__file__).parent / "scripts"
AZMLINFSRV = str(Path(sys.executable).parent / "azmlinfsrv")
# a local, closed ingestion endpoint: a valid key never sends telemetry off this machine
LOCAL_INSIGHTS = (
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
)
LOG_LINE = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} I \[\d+\] "


@dataclass
class Server:
    """One ``azmlinfsrv`` process, its port and its stdout lines."""

    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        time.sleep(0.2)  # let the reader thread take the last lines
        return "\n".join(self.lines)

    def wait_live(self, port: int | None = None, timeout: float = 30.0) -> None:
        """Poll GET / until 200, as the reference's own tests do before scoring."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode}:\n{self.output()}")
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{port or self.port}/", timeout=2).status_code
                    == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"not live in {timeout}s:\n{self.output()}")


def free_port() -> int:
    """A currently free TCP port (the reference's command line does not take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(extra: dict[str, str] | None) -> dict[str, str]:
    reference = ("AKSML_", "AZUREML_", "AML_", "APPLICATIONINSIGHTS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(reference)}
    for name in (
        "SERVER_PORT",
        "HEALTH_PORT",
        "WORKER_COUNT",
        "WORKER_TIMEOUT",
        "SCORING_TIMEOUT_MS",
    ):
        env.pop(name, None)
    env.pop("SEPERATE_HEALTH_ENDPOINT", None)
    env.pop("SERVER_VERSION_LOG_RESPONSE_ENABLED", None)
    env["APPLICATIONINSIGHTS_CONNECTION_STRING"] = LOCAL_INSIGHTS
    env.update(extra or {})
    return env


@pytest.fixture
def azmlinfsrv() -> Iterator[object]:
    """Factory: ``azmlinfsrv(*args, env=None, cwd=SCRIPTS, live=True)`` on a free port."""
    started: list[Server] = []

    def start(
        *args: str, env: dict[str, str] | None = None, cwd: Path = SCRIPTS, live: bool = True
    ) -> Server:
        port = free_port()
        full = [AZMLINFSRV, *args]
        if "--port" not in args:
            full += ["--port", str(port)]
        else:
            port = int(args[args.index("--port") + 1])
        process = subprocess.Popen(
            full,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_environment(env),
            cwd=cwd,
        )
        server = Server(process, port)
        started.append(server)

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                server.lines.append(line.rstrip("\n"))

        threading.Thread(target=read, daemon=True).start()
        if live:
            server.wait_live()
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.process.terminate()
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def _seen(server: Server) -> dict[str, str]:
    response = httpx.post(server.url + "/score", content=b"{}", timeout=10)
    assert response.status_code == 200, response.text
    seen: dict[str, str] = response.json()
    return seen


def test_entry_script_flag_serves_the_modern_import_path(azmlinfsrv: object) -> None:
    server = azmlinfsrv("--entry_script", "modern_import.py")  # type: ignore[operator]
    seen = _seen(server)
    assert seen["AZUREML_ENTRY_SCRIPT"] == str(SCRIPTS / "modern_import.py")
    assert seen["AML_APP_ROOT"] == str(SCRIPTS)
    # the environment a script sees: app insights off as "false", no model dir at all
    assert seen["AML_APP_INSIGHTS_ENABLED"] == "false"
    assert seen["AZUREML_MODEL_DIR"] == "__NONE__"
    assert seen["AML_APP_INSIGHTS_KEY"] == "__NONE__"
    assert seen["SERVER_PORT"] == str(server.port) and seen["WORKER_COUNT"] == "1"
    output = server.output()
    assert "Server Settings" in output and "Server Routes" in output
    assert f"Server Port: {server.port}" in output
    assert "The environment variable 'AZUREML_MODEL_DIR' has not been set." in output
    # print() becomes one azmlinfsrv.print record per call; one access line per request
    assert len(re.findall(LOG_LINE + r"azmlinfsrv\.print - modern init done", output)) == 1
    assert len(re.findall(LOG_LINE + r"azmlinfsrv\.print - modern run called", output)) == 1
    assert "azmlinfsrv.user_script - Users's init has completed successfully" in output
    assert re.search(LOG_LINE + r"azmlinfsrv - POST /score 200 \d+\.\d{3}ms \d+", output)


def test_command_line_wins_over_environment(azmlinfsrv: object) -> None:
    server = azmlinfsrv(  # type: ignore[operator]
        "--entry_script",
        "modern_import.py",
        "--model_dir",
        "./my/dir",
        "--worker_count",
        "2",
        env={"AZUREML_MODEL_DIR": "./not/good", "WORKER_COUNT": "3", "SERVER_PORT": "1"},
    )
    seen = _seen(server)
    assert seen["AZUREML_MODEL_DIR"] == "./my/dir"
    assert seen["WORKER_COUNT"] == "2"
    output = server.output()
    assert "Worker Count: 2" in output
    assert f"Server Port: {server.port}" in output  # SERVER_PORT from outside is ignored


def test_environment_settings_and_lenient_values(azmlinfsrv: object) -> None:
    key = str(uuid.uuid4())
    server = azmlinfsrv(  # type: ignore[operator]
        "--entry_script",
        "modern_import.py",
        env={
            "WORKER_COUNT": "2",
            "WORKER_TIMEOUT": "20",
            "AML_APP_INSIGHTS_KEY": key,
            "AML_APP_INSIGHTS_ENABLED": "asdf",
            "SERVER_VERSION_LOG_RESPONSE_ENABLED": "notgood",
        },
    )
    response = httpx.post(server.url + "/score", content=b"{}", timeout=10)
    assert response.status_code == 200
    assert "x-ms-server-version" not in response.headers  # an invalid value disables it
    assert response.json()["AML_APP_INSIGHTS_ENABLED"] == "false"  # invalid: false
    output = server.output()
    for line in (
        "Worker Count: 2",
        "Worker Timeout (seconds): 20",
        "Application Insights Key: AppInsights key provided",
        "Application Insights Enabled: false",
        "Scoring timeout is set to 20000",  # gunicorn's worker timeout bounds a request
    ):
        assert line in output


def test_instrumentation_key_valid_and_invalid(azmlinfsrv: object) -> None:
    key = str(uuid.uuid4())
    good = azmlinfsrv(  # type: ignore[operator]
        "--entry_script", "modern_import.py", "--appinsights_instrumentation_key", key
    )
    seen = _seen(good)
    assert (seen["AML_APP_INSIGHTS_ENABLED"], seen["AML_APP_INSIGHTS_KEY"]) == ("true", key)
    assert "Valid Application Insights instrumentation key provided." in good.output()
    bad = azmlinfsrv(  # type: ignore[operator]
        "--entry_script",
        "modern_import.py",
        "--appinsights_instrumentation_key",
        "my-super-duper-key",
        env={"AML_APP_INSIGHTS_KEY": key},  # the command line wins
    )
    assert _seen(bad)["AML_APP_INSIGHTS_ENABLED"] == "false"  # disabled, and it serves
    output = bad.output()
    assert "Invalid Application Insights instrumentation key provided." in output
    assert "Application Insights has been disabled." in output


def test_config_file_keys_below_the_environment(azmlinfsrv: object, tmp_path: Path) -> None:
    config = tmp_path / "server.json"
    config.write_text(
        json.dumps(
            {
                "AZUREML_ENTRY_SCRIPT": str(SCRIPTS / "modern_import.py"),
                "SCORING_TIMEOUT_MS": 6000,
                "AML_CORS_ORIGINS": "www.microsoft.com",
                "EXTRA_KEY": False,
            }
        )
    )
    server = azmlinfsrv(  # type: ignore[operator]
        "--config_file", str(config), env={"AML_CORS_ORIGINS": "www.bing.com"}
    )
    response = httpx.post(
        server.url + "/score", content=b"{}", headers={"Origin": "www.bing.com"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "www.bing.com"
    output = server.output()
    assert "Scoring timeout is set to 6000" in output
    assert "CORS for the specified origins: Enabling CORS for www.bing.com" in output
    assert "Extra keys = ['EXTRA_KEY']" in output
    assert f"Config File: {config}" in output


def test_separate_health_port(azmlinfsrv: object) -> None:
    health = free_port()
    server = azmlinfsrv(  # type: ignore[operator]
        "--entry_script",
        "modern_import.py",
        "--health_port",
        str(health),
        env={"SEPERATE_HEALTH_ENDPOINT": "true"},
    )
    assert f"Health Port: {health}" in server.output()
    live = httpx.get(f"http://127.0.0.1:{health}/", timeout=5)
    assert (live.status_code, live.text) == (200, "Healthy")
    without = azmlinfsrv("--entry_script", "modern_import.py")  # type: ignore[operator]
    assert f"Health Port: {without.port}" in without.output()


def test_streamed_body_is_logged_with_na_length(azmlinfsrv: object) -> None:
    server = azmlinfsrv("--entry_script", "streaming.py")  # type: ignore[operator]
    response = httpx.post(server.url + "/score?count=2", content=b"x", timeout=10)
    assert response.text == "chunk 0\nchunk 1\n"
    assert re.search(r"POST /score\?count=2 200 \d+\.\d{3}ms N/A", server.output())


def test_bad_invocations_exit_non_zero(azmlinfsrv: object, tmp_path: Path) -> None:
    nothing = azmlinfsrv(live=False)  # type: ignore[operator]
    assert nothing.process.wait(timeout=30) == 1
    assert "Either provide an entry_script using --entry_script" in nothing.output()
    bad_port = azmlinfsrv("--entry_script", "plain.py", "--port", "0", live=False)  # type: ignore[operator]
    assert bad_port.process.wait(timeout=30) == 1
    missing = azmlinfsrv("--entry_script", "missing.py", live=False)  # type: ignore[operator]
    assert missing.process.wait(timeout=30) == 3
    script = tmp_path / "bad_indent.py"
    script.write_text("def init():\n    pass\n\n\ndef run(raw):\n     x = 1\n    return x\n")
    broken = azmlinfsrv("--entry_script", str(script), live=False)  # type: ignore[operator]
    assert broken.process.wait(timeout=30) == 3
    assert "IndentationError: unindent does not match any outer indentation level" in (
        broken.output()
    )


def test_logging_json_in_the_app_root(azmlinfsrv: object, tmp_path: Path) -> None:
    (tmp_path / "logging.json").write_text(
        json.dumps(
            {
                "version": 1,
                "formatters": {
                    "custom": {
                        "class": "azureml_inference_server_http.log_config.AMLLogFormatter",
                        "format": "CUSTOM %(name)s | %(message)s",
                    }
                },
                "handlers": {
                    "out": {
                        "class": "logging.StreamHandler",
                        "stream": "ext://sys.stdout",
                        "formatter": "custom",
                    }
                },
                "loggers": {
                    "azmlinfsrv": {"level": "INFO", "handlers": ["out"], "propagate": False}
                },
            }
        )
    )
    server = azmlinfsrv(  # type: ignore[operator]
        "--entry_script", str(SCRIPTS / "modern_import.py"), env={"AML_APP_ROOT": str(tmp_path)}
    )
    _seen(server)
    output = server.output()
    assert "CUSTOM azmlinfsrv.print | modern run called" in output
    assert "CUSTOM azmlinfsrv | Starting up app insights client" in output
