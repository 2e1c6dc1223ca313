"""Observability of a real ``aksml serve`` process on 127.0.0.1: collected data survives a
SIGTERM under load, Application Insights receives the requests, metrics and access log."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

AKSML = str(Path(sys.executable).parent / "aksml")
KEY = "obs-test-primary-key-0123456789"
_PORT = re.compile(r"Liveness:\s+GET\s+http://127\.0\.0\.1:(\d+)/")
_METRICS_PORT = re.compile(r"Metrics:\s+GET\s+http://127\.0\.0\.1:(\d+)/metrics")

SCORE = """
import json, os, sys, time

def init():
    time.sleep(0.05)

def run(raw):
    data = json.loads(raw)
    if data.get("crash"):
        os._exit(1)
    if data.get("fail"):
        raise ValueError("bad input " + str(data["fail"]))
    print("scored", data.get("i"), file=sys.stderr)  # stderr: keeps stdout's JSON lines whole
    time.sleep(0.002)
    return {"echo": data.get("i")}
"""


class Server:
    """One ``aksml serve`` process; stdout collected line by line."""

    def __init__(self, tmp: Path, *args: str, env: dict[str, str] | None = None) -> None:
        script = tmp / "score.py"
        script.write_text(SCORE)
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                AKSML,
                "serve",
                "--entry-script",
                str(script),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--primary-key",
                KEY,
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # os.environ carries conftest's switches that keep the exporter on loopback
            env={**os.environ, **(env or {})},
            cwd=tmp,
        )
        self.port = 0
        self.metrics_port = 0
        self.errors: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_errors, daemon=True)
        self._err_reader.start()
        self._wait_ready()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if m := _PORT.search(line):
                self.port = int(m.group(1))
            if m := _METRICS_PORT.search(line):
                self.metrics_port = int(m.group(1))

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line.rstrip("\n"))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "\n".join(self.lines + self.errors)
            if self.port:
                try:
                    if httpx.get(self.url + "/-/ready", timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        raise AssertionError("not ready:\n" + "\n".join(self.lines))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text

    def terminate(self, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._reader.join(5)
        self._err_reader.join(5)
        return code


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in metrics:\n{text}")


def _records(root: Path, designation: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in root.rglob(f"{designation}/*/*/*/*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            assert record["requestId"] not in found, "duplicate record"
            found[record["requestId"]] = record
    return found


def test_sigterm_under_load_keeps_every_admitted_request(
    tmp_path: Path, servers: list[Server], ingestion: Any
) -> None:
    out = tmp_path / "modeldata"
    model_dir = tmp_path / "azureml-models" / "iris" / "3"
    model_dir.mkdir(parents=True)
    server = Server(
        tmp_path,
        "--service-name",
        "iris-svc",
        "--model-dir",
        str(model_dir),
        "--metrics-port",
        str(_free_port()),
        "--worker-mode",
        "thread",
        "--max-concurrent-requests",
        "4",
        "--max-request-wait-ms",
        "5000",
        "--collect-model-data",
        "--data-collection-dir",
        str(out),
        "--data-collection-flush-ms",
        "600000",  # nothing reaches the disk before shutdown unless the buffer fills
        "--access-log",
        "--app-insights-sample-rate",
        "1",  # every request: the shutdown flush must lose none of them
        env={"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string},
    )
    servers.append(server)
    assert server.metrics_port, "\n".join(server.lines)

    ok: list[str] = []
    others: list[int] = []
    started = threading.Event()
    stop = threading.Event()
    lock = threading.Lock()

    def client(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            i = 0
            while not stop.is_set():
                rid = f"w{worker}-{i}-{uuid.uuid4().hex[:8]}"
                i += 1
                try:
                    r = http.post(
                        "/score",
                        json={"i": i, "fail": i if i % 17 == 0 else 0},
                        headers={"x-request-id": rid, "Authorization": f"Bearer {KEY}"},
                    )
                except httpx.HTTPError:
                    return  # the listener closed: the server is gone
                with lock:
                    (ok.append(rid) if r.status_code == 200 else others.append(r.status_code))
                    if len(ok) >= 150:
                        started.set()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    assert started.wait(60), "load did not get going"
    metrics = server.metrics()
    assert server.terminate() == 0, "\n".join(server.lines[-30:])
    stop.set()
    for t in threads:
        t.join(30)

    assert len(ok) >= 150
    assert set(others) <= {502, 503}, others  # failures from score.py, refusals while draining
    inputs = _records(out, "inputs")
    predictions = _records(out, "predictions")
    missing = [rid for rid in ok if rid not in inputs or rid not in predictions]
    assert not missing, f"{len(missing)} admitted requests lost: {missing[:5]}"
    sample = predictions[ok[0]]
    assert sample["status"] == 200 and "echo" in sample["prediction"]
    assert sample["models"] == [{"name": "iris", "version": "3"}]
    assert sample["service"] == "iris-svc"
    failed = [r for r in predictions.values() if r["status"] == 502]
    assert failed and all("error" in r for r in failed)
    assert all(p.match("data-??-*.jsonl") for p in out.rglob("*.jsonl"))
    assert sorted({p.parent.relative_to(out).parts[:4] for p in out.rglob("*.jsonl")}) == [
        ("iris-svc", "iris", "3", "inputs"),
        ("iris-svc", "iris", "3", "predictions"),
    ]

    # metrics were live while serving
    assert _metric(metrics, "aksml_model_load_seconds") >= 0.05
    assert _metric(metrics, 'aksml_responses_by_class_total{class="2xx"}') >= 150
    assert _metric(metrics, "aksml_data_collection_queue_depth") >= 150
    assert _metric(metrics, "aksml_data_collection_records_written_total") == 0
    assert _metric(metrics, 'aksml_data_collection_dropped_total{reason="buffer_full"}') == 0

    # access log: one JSON line per request, no keys
    access = [json.loads(x) for x in server.lines if x.startswith('{"time"')]
    assert {a["requestId"] for a in access} >= set(ok)
    assert KEY not in "\n".join(server.lines + server.errors)

    # Application Insights: flushed at shutdown, every admitted request is there
    envelopes = ingestion.envelopes
    requests = {
        e["data"]["baseData"]["properties"]["request_id"]
        for e in envelopes
        if e["data"]["baseType"] == "RequestData"
    }
    assert set(ok) <= requests
    messages = {
        e["data"]["baseData"]["message"]
        for e in envelopes
        if e["data"]["baseType"] == "MessageData"
    }
    assert "scored 1" in messages  # print() in score.py became a trace
    assert any(e["data"]["baseType"] == "ExceptionData" for e in envelopes)
    raw = b"".join(ingestion.raw)
    assert KEY.encode() not in raw
    assert b"Bearer" not in raw


def test_worker_restarts_are_counted(tmp_path: Path, servers: list[Server]) -> None:
    server = Server(
        tmp_path,
        "--metrics-port",
        str(_free_port()),
        "--worker-mode",
        "process",
        "--max-concurrent-requests",
        "1",
    )
    servers.append(server)
    assert _metric(server.metrics(), "aksml_worker_restarts_total") == 0
    headers = {"Authorization": f"Bearer {KEY}"}
    r = httpx.post(server.url + "/score", json={"crash": True}, headers=headers, timeout=30)
    assert r.status_code == 502
    assert _metric(server.metrics(), "aksml_worker_restarts_total") == 1
    deadline = time.monotonic() + 30
    while True:  # the replacement worker runs init() before it takes requests again
        r = httpx.post(server.url + "/score", json={"i": 1}, headers=headers, timeout=30)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.json() == {"echo": 1}
    assert server.terminate() == 0


def test_collection_without_sink_fails_at_start(tmp_path: Path) -> None:
    (tmp_path / "score.py").write_text(SCORE)
    result = subprocess.run(
        [
            AKSML,
            "serve",
            "--entry-script",
            "score.py",
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--collect-model-data",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: collect_model_data needs exactly one of --data-collection-dir")
    )
    assert "Traceback" not in result.stderr


def test_process_workers_export_score_py_logs(
    tmp_path: Path, servers: list[Server], ingestion: Any
) -> None:
    server = Server(
        tmp_path,
        "--metrics-port",
        str(_free_port()),
        "--worker-mode",
        "process",
        "--max-concurrent-requests",
        "2",
        "--service-name",
        "proc-svc",
        env={"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string},
    )
    servers.append(server)
    headers = {"Authorization": f"Bearer {KEY}", "x-request-id": "proc-1"}
    r = httpx.post(server.url + "/score", json={"i": 7}, headers=headers, timeout=30)
    assert r.status_code == 200
    assert server.terminate() == 0
    envelopes = ingestion.wait_for(
        lambda e: any(
            x["data"]["baseType"] == "MessageData"
            and x["data"]["baseData"]["message"] == "scored 7"
            for x in e
        )
    )
    message = next(
        x
        for x in envelopes
        if x["data"]["baseType"] == "MessageData" and x["data"]["baseData"]["message"] == "scored 7"
    )
    assert message["tags"]["ai.cloud.role"] == "proc-svc"
    requests = [x for x in envelopes if x["data"]["baseType"] == "RequestData"]
    assert [x["data"]["baseData"]["properties"]["request_id"] for x in requests] == ["proc-1"]
