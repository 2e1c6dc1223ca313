"""Admission (FIFO, queue wait -> 503) and its metrics, scoring timeout (504), worker processes,
SIGTERM drain and settings errors -- against real ``aksml serve`` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from aksml import contract as c


def _post(server: Any, payload: dict[str, Any], timeout: float = 20.0) -> httpx.Response:
    return httpx.post(server.url + "/score", content=json.dumps(payload), timeout=timeout)


class _Background:
    """A request sent from a thread; ``result()`` joins it."""

    def __init__(self, server: Any, payload: dict[str, Any]) -> None:
        self.response: httpx.Response | None = None
        self.finished_at = 0.0
        self._thread = threading.Thread(target=self._run, args=(server, payload))
        self._thread.start()

    def _run(self, server: Any, payload: dict[str, Any]) -> None:
        self.response = _post(server, payload)
        self.finished_at = time.monotonic()

    def result(self) -> httpx.Response:
        self._thread.join(timeout=30)
        assert self.response is not None
        return self.response


def _wait_in_flight(server: Any, count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = httpx.get(f"http://127.0.0.1:{server.metrics_port}/metrics").text
        if f"aksml_requests_in_flight {float(count)}" in text:
            return
        time.sleep(0.02)
    raise AssertionError("request never became in-flight")


def _metric(server: Any, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{server.metrics_port}/metrics").text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in metrics:\n{text}")


MODES = pytest.mark.parametrize("mode", ["thread", "process"])
"""Admission must behave the same whether run() executes on a thread or in a worker process."""


@MODES
def test_queue_wait_over_limit_is_503(serve: Callable[..., Any], mode: str) -> None:
    server = serve("slow.py", "--max-request-wait-ms", "100", "--worker-mode", mode, metrics=True)
    slow = _Background(server, {"sleep": 1.5})
    _wait_in_flight(server)
    refused = _post(server, {"sleep": 0})
    assert refused.status_code == 503
    assert "max_request_wait_time (100 ms)" in refused.json()["message"]
    assert slow.result().status_code == 200
    assert _metric(server, 'aksml_requests_rejected_total{reason="queue_timeout"}') == 1.0
    assert _metric(server, "aksml_requests_admitted_total") == 1.0
    assert _metric(server, "aksml_request_duration_seconds_count") == 1.0
    assert _metric(server, 'aksml_responses_total{code="503"}') == 1.0
    assert _metric(server, 'aksml_responses_total{code="200"}') == 1.0
    assert _metric(server, 'aksml_responses_by_class_total{class="5xx"}') == 1.0
    assert _metric(server, "aksml_model_load_seconds") > 0
    assert _metric(server, "aksml_run_seconds_count") == 1.0
    assert _metric(server, "aksml_queue_wait_seconds_count") == 1.0
    text = httpx.get(f"http://127.0.0.1:{server.metrics_port}{c.METRICS_PATH}").text
    for family in (c.INFLIGHT_METRIC, c.QUEUE_DEPTH_METRIC, "aksml_request_duration_seconds"):
        assert family in text


@MODES
def test_waiters_are_admitted_in_arrival_order(serve: Callable[..., Any], mode: str) -> None:
    server = serve("slow.py", "--max-request-wait-ms", "10000", "--worker-mode", mode, metrics=True)
    first = _Background(server, {"sleep": 0.6, "tag": "first"})
    _wait_in_flight(server)
    later = []
    for tag in ("a", "b", "c"):
        later.append(_Background(server, {"sleep": 0.05, "tag": tag}))
        deadline = time.monotonic() + 5
        while _metric(server, "aksml_queue_depth") < len(later) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert first.result().status_code == 200
    responses = [b.result() for b in later]
    assert [r.json()["tag"] for r in responses] == ["a", "b", "c"]
    finish_order = sorted(later, key=lambda b: b.finished_at)
    assert [b.result().json()["tag"] for b in finish_order] == ["a", "b", "c"]


def test_thread_mode_timeout_is_504_and_keeps_the_slot(serve: Callable[..., Any]) -> None:
    server = serve(
        "slow.py", "--scoring-timeout-ms", "300", "--max-request-wait-ms", "50", metrics=True
    )
    timed_out = _post(server, {"sleep": 1.5})
    assert timed_out.status_code == 504
    assert timed_out.json() == {"message": "Scoring timeout after 300 ms"}
    assert timed_out.headers["x-ms-run-function-failed"] == "True"
    # the thread still runs the call: its slot is held until run() returns
    assert _metric(server, "aksml_requests_in_flight") == 1.0
    assert _post(server, {"sleep": 0}).status_code == 503
    deadline = time.monotonic() + 10
    while _post(server, {"sleep": 0}).status_code != 200:
        assert time.monotonic() < deadline


def test_process_mode_runs_in_parallel_workers(serve: Callable[..., Any]) -> None:
    server = serve("slow.py", "--max-concurrent-requests", "2", metrics=True)
    assert "2 worker processes" in server.output()
    calls = [_Background(server, {"sleep": 0.8, "tag": t}) for t in ("x", "y")]
    _wait_in_flight(server, 2)
    pids = {call.result().json()["pid"] for call in calls}
    assert len(pids) == 2


def test_process_mode_timeout_kills_and_replaces_the_worker(serve: Callable[..., Any]) -> None:
    server = serve(
        "slow.py",
        "--worker-mode",
        "process",
        "--scoring-timeout-ms",
        "300",
        "--max-request-wait-ms",
        "20000",
        metrics=True,
    )
    before = _post(server, {}).json()["pid"]
    timed_out = _post(server, {"sleep": 30})
    assert timed_out.status_code == 504
    after = _post(server, {})
    assert after.status_code == 200
    assert after.json()["pid"] != before
    assert _metric(server, "aksml_worker_restarts_total") == 1.0


def test_process_mode_worker_crash_is_502_and_replaced(serve: Callable[..., Any]) -> None:
    server = serve("slow.py", "--worker-mode", "process", "--max-request-wait-ms", "20000")
    crashed = _post(server, {"exit": True})
    assert crashed.status_code == 502
    assert crashed.json()["message"] == "The scoring worker process exited unexpectedly."
    assert _post(server, {}).status_code == 200


def test_process_mode_call_waiting_in_a_worker_is_refused_at_its_deadline(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    """A call handed ahead to the busy worker gets its 503 at the deadline, and the worker
    skips it: run() never sees a call that waited longer than max_request_wait_time."""
    server = serve("slow.py", "--worker-mode", "process", "--max-request-wait-ms", "200")
    slow = _Background(server, {"sleep": 1.2})
    time.sleep(0.2)  # the slow call is running
    mark = tmp_path / "ran"
    started = time.monotonic()
    refused = _post(server, {"mark": str(mark)})
    waited = time.monotonic() - started
    assert refused.status_code == 503
    assert "max_request_wait_time (200 ms)" in refused.json()["message"]
    assert waited < 1.0  # answered at the deadline, not when the worker got to it
    assert slow.result().status_code == 200
    assert _post(server, {}).status_code == 200  # the worker has passed the skipped call
    assert not mark.exists()


def test_process_mode_timeout_gives_the_waiting_call_to_the_replacement(
    serve: Callable[..., Any],
) -> None:
    server = serve(
        "slow.py",
        "--worker-mode",
        "process",
        "--scoring-timeout-ms",
        "400",
        "--max-request-wait-ms",
        "20000",
        metrics=True,
    )
    before = _post(server, {}).json()["pid"]
    stuck = _Background(server, {"sleep": 30})
    _wait_in_flight(server)
    waiting = _post(server, {"tag": "after"})  # handed ahead to the stuck worker
    assert stuck.result().status_code == 504
    assert waiting.status_code == 200
    assert waiting.json() == {"pid": waiting.json()["pid"], "tag": "after"}
    assert waiting.json()["pid"] != before
    assert _metric(server, "aksml_worker_restarts_total") == 1.0


def test_process_mode_crash_gives_the_waiting_call_to_the_replacement(
    serve: Callable[..., Any],
) -> None:
    server = serve("slow.py", "--worker-mode", "process", "--max-request-wait-ms", "20000")
    crashing = _Background(server, {"sleep": 0.5, "exit_after_sleep": True})
    time.sleep(0.2)
    waiting = _post(server, {"tag": "after"})
    assert crashing.result().status_code == 502
    assert waiting.status_code == 200
    assert waiting.json()["tag"] == "after"


def test_without_prefetch_a_free_worker_takes_the_oldest_call(
    serve: Callable[..., Any],
) -> None:
    """--worker-prefetch 0: a call never waits behind a long run() while a worker is free."""
    server = serve(
        "slow.py",
        "--max-concurrent-requests",
        "2",
        "--worker-prefetch",
        "0",
        "--max-request-wait-ms",
        "20000",
        metrics=True,
    )
    long = _Background(server, {"sleep": 3.0, "tag": "long"})
    _wait_in_flight(server)
    short = _Background(server, {"sleep": 0.3, "tag": "short"})
    _wait_in_flight(server, 2)
    queued = _Background(server, {"tag": "queued"})  # waits here, not in the long call's worker
    deadline = time.monotonic() + 5
    while _metric(server, "aksml_queue_depth") < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queued.result().json()["tag"] == "queued"
    assert long.response is None  # still running: the queued call did not wait for it
    assert queued.result().json()["pid"] == short.result().json()["pid"]
    assert long.result().status_code == 200


def test_process_mode_idle_worker_that_dies_is_replaced(serve: Callable[..., Any]) -> None:
    server = serve(
        "slow.py", "--worker-mode", "process", "--max-request-wait-ms", "20000", metrics=True
    )
    pid = _post(server, {}).json()["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while _metric(server, "aksml_worker_restarts_total") < 1.0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    answer = _post(server, {})
    assert answer.status_code == 200
    assert answer.json()["pid"] != pid


def test_process_mode_init_failure_exits_3(serve: Callable[..., Any]) -> None:
    server = serve("init_fails.py", "--max-concurrent-requests", "2", ready=False)
    assert server.wait_exit() == c.EXIT_INIT_FAILED


def test_sigterm_drains_in_flight_calls(serve: Callable[..., Any]) -> None:
    server = serve("slow.py", "--max-request-wait-ms", "5000", metrics=True)
    in_flight = _Background(server, {"sleep": 1.5, "tag": "inflight"})
    _wait_in_flight(server)
    server.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    while httpx.get(server.url + c.READINESS_PATH).status_code != 503:
        assert time.monotonic() < deadline
    refused = _post(server, {"sleep": 0})
    assert refused.status_code == 503
    assert "shutting down" in refused.json()["message"]
    response = in_flight.result()
    assert response.status_code == 200 and response.json()["tag"] == "inflight"
    assert server.wait_exit() == 0


def _serve_cli(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AKSML_")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "aksml"), "serve", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=60,
    )


def test_invalid_settings_exit_2_with_one_line(scripts_dir: Any) -> None:
    script = str(scripts_dir / "plain.py")
    bad_flag = _serve_cli(["--entry-script", script, "--port", "abc"])
    assert bad_flag.returncode == c.EXIT_USAGE
    assert bad_flag.stderr.strip() == (
        "error: invalid value 'abc' for --port / AKSML_PORT: expected an integer"
    )
    bad_env = _serve_cli(["--entry-script", script], env={"AKSML_MAX_CONCURRENT_REQUESTS": "0"})
    assert bad_env.returncode == c.EXIT_USAGE
    assert len(bad_env.stderr.strip().splitlines()) == 1
    assert "--max-concurrent-requests / AKSML_MAX_CONCURRENT_REQUESTS" in bad_env.stderr
    missing = _serve_cli([])
    assert missing.returncode == c.EXIT_USAGE
    assert "--entry-script (or AZUREML_ENTRY_SCRIPT) is required" in missing.stderr


def test_client_gone_mid_body_never_reaches_run(serve: Callable[..., Any]) -> None:
    import socket

    server = serve("slow.py", metrics=True)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b'POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"sleep"')
    assert _post(server, {"tag": "after"}).json()["tag"] == "after"
    assert _metric(server, "aksml_requests_admitted_total") == 1.0


def test_starting_pod_reports_no_requests_in_flight(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    script = tmp_path / "slow_init.py"
    script.write_text(
        "import time\n\ndef init():\n    time.sleep(3)\n\ndef run(raw):\n    return raw\n"
    )
    server = serve(
        None,
        "--entry-script",
        str(script),
        "--max-concurrent-requests",
        "2",
        metrics=True,
        ready=False,
    )
    scraped_before_ready = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            ready = httpx.get(f"{server.url}{c.READINESS_PATH}", timeout=1).status_code == 200
        except httpx.HTTPError:
            ready = False
        if ready:
            break
        try:
            text = httpx.get(
                f"http://127.0.0.1:{server.metrics_port}{c.METRICS_PATH}", timeout=1
            ).text
        except httpx.HTTPError:
            time.sleep(0.05)
            continue
        for line in text.splitlines():
            if line.startswith(c.INFLIGHT_METRIC + " "):
                scraped_before_ready.append(float(line.split()[1]))
        time.sleep(0.05)
    assert scraped_before_ready, "the metrics endpoint never answered before readiness"
    assert set(scraped_before_ready) == {0.0}
    assert _metric(server, c.INFLIGHT_METRIC) == 0.0
