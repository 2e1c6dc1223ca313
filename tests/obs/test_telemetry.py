"""Application Insights export through OpenTelemetry to a local ingestion endpoint."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from aksml.errors import WebserviceException
from aksml.runtime.telemetry import FinishedRequest, Telemetry, telemetry_from_env


def _of_type(envelopes: list[dict[str, Any]], base_type: str) -> list[dict[str, Any]]:
    return [e for e in envelopes if e["data"]["baseType"] == base_type]


def test_no_connection_string_means_no_telemetry() -> None:
    assert telemetry_from_env({}, service_name="s", service_version="1") is None


def test_requests_dependencies_exceptions_and_logs_arrive(ingestion: Any) -> None:
    telemetry = telemetry_from_env(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string, "HOSTNAME": "pod-7"},
        service_name="iris-svc",
        service_version="3",
    )
    assert telemetry is not None
    try:
        now = time.time()
        telemetry.request(
            FinishedRequest("req-ok-1", "POST", "/score", 200, now, total_ms=12.0, run_ms=10.0)
        )
        telemetry.request(
            FinishedRequest(
                "req-fail-2",
                "POST",
                "/score",
                502,
                now,
                total_ms=3.0,
                run_ms=2.0,
                error="ValueError: bad input",
            )
        )
        logging.getLogger("score").warning("hello from score.py")
        print("printed", "by score.py")
        logging.getLogger("azure.core.pipeline").warning("never exported")
        telemetry.flush()
        envelopes = ingestion.wait_for(
            lambda e: len(_of_type(e, "RequestData")) == 2 and len(_of_type(e, "MessageData")) == 2
        )
    finally:
        telemetry.shutdown()

    requests = {
        r["data"]["baseData"]["properties"]["request_id"]: r
        for r in _of_type(envelopes, "RequestData")
    }
    assert sorted(requests) == ["req-fail-2", "req-ok-1"]
    ok = requests["req-ok-1"]
    assert ok["iKey"] == ingestion.ikey
    assert ok["data"]["baseData"]["responseCode"] == "200"
    assert ok["data"]["baseData"]["success"] is True
    assert ok["data"]["baseData"]["name"] == "POST /score"
    assert ok["data"]["baseData"]["duration"] == "0.00:00:00.012"
    assert ok["tags"]["ai.cloud.role"] == "iris-svc"
    assert ok["tags"]["ai.cloud.roleInstance"] == "pod-7"
    assert ok["tags"]["ai.application.ver"] == "3"
    assert requests["req-fail-2"]["data"]["baseData"]["success"] is False

    # in-process scoring: no dependency; the run() time is a property of the request
    assert _of_type(envelopes, "RemoteDependencyData") == []
    assert ok["data"]["baseData"]["properties"]["run_ms"] == "10.0"

    (exception,) = _of_type(envelopes, "ExceptionData")
    detail = exception["data"]["baseData"]["exceptions"][0]
    assert detail["message"] == "ValueError: bad input"
    assert exception["tags"]["ai.operation.id"] == requests["req-fail-2"]["tags"]["ai.operation.id"]

    messages = [m["data"]["baseData"]["message"] for m in _of_type(envelopes, "MessageData")]
    assert messages == ["hello from score.py", "printed by score.py"]
    assert print.__module__ == "builtins"  # restored at shutdown


def test_proxy_mode_records_an_http_dependency(ingestion: Any) -> None:
    telemetry = Telemetry(
        ingestion.connection_string,
        service_name="proxy-svc",
        service_version="1",
        upstream="http://127.0.0.1:8080/v1/models/m:predict",
        capture_logs=False,
    )
    try:
        telemetry.request(
            FinishedRequest("req-p", "POST", "/score", 200, time.time(), total_ms=5, run_ms=4)
        )
        telemetry.flush()
        envelopes = ingestion.wait_for(lambda e: _of_type(e, "RemoteDependencyData"))
    finally:
        telemetry.shutdown()
    (dep,) = _of_type(envelopes, "RemoteDependencyData")
    assert dep["data"]["baseData"]["type"] == "HTTP"
    assert dep["data"]["baseData"]["target"] == "127.0.0.1:8080"
    assert dep["data"]["baseData"]["resultCode"] == "200"


def test_bad_connection_string_is_one_clear_error() -> None:
    with pytest.raises(WebserviceException, match="APPLICATIONINSIGHTS_CONNECTION_STRING"):
        Telemetry("IngestionEndpoint=http://127.0.0.1:1/", service_name="s", service_version="1")


def test_nothing_secret_is_exported(ingestion: Any) -> None:
    telemetry = Telemetry(
        ingestion.connection_string, service_name="s", service_version="1", capture_logs=False
    )
    try:
        telemetry.request(
            FinishedRequest("req-s", "POST", "/score", 200, time.time(), total_ms=1, run_ms=1)
        )
        telemetry.flush()
        ingestion.wait_for(lambda e: _of_type(e, "RequestData"))
    finally:
        telemetry.shutdown()
    dumped = json.dumps(ingestion.envelopes).lower()
    assert "authorization" not in dumped
    assert "bearer" not in dumped


def test_sampling_keeps_a_fraction_and_marks_the_rate(ingestion: Any) -> None:
    telemetry = Telemetry(
        ingestion.connection_string,
        service_name="s",
        service_version="1",
        capture_logs=False,
        sample_rate=0.25,
    )
    try:
        for i in range(400):
            telemetry.request(
                FinishedRequest(f"r{i}", "POST", "/score", 200, time.time(), total_ms=1, run_ms=1)
            )
        telemetry.flush()
        time.sleep(0.5)
        envelopes = list(ingestion.envelopes)
    finally:
        telemetry.shutdown()
    requests = _of_type(envelopes, "RequestData")
    assert 40 <= len(requests) <= 200  # about 100 of 400
    assert {r["sampleRate"] for r in requests} == {25.0}


def test_a_full_queue_drops_and_counts(ingestion: Any) -> None:
    telemetry = Telemetry(
        ingestion.connection_string,
        service_name="s",
        service_version="1",
        capture_logs=False,
        max_pending=3,
    )
    try:
        telemetry._stop.set()  # hold the background thread so the queue cannot drain
        telemetry._thread.join(5)
        for i in range(5):
            telemetry.request(
                FinishedRequest(f"q{i}", "POST", "/score", 200, time.time(), total_ms=1, run_ms=1)
            )
        assert telemetry.dropped == 2
        telemetry.flush()
        envelopes = ingestion.wait_for(lambda e: len(_of_type(e, "RequestData")) == 3)
    finally:
        telemetry.shutdown()
    ids = sorted(
        r["data"]["baseData"]["properties"]["request_id"]
        for r in _of_type(envelopes, "RequestData")
    )
    assert ids == ["q0", "q1", "q2"]
