"""Application Insights export through OpenTelemetry to a local ingestion endpoint."""

from __future__ import annotations

import json
import logging
import random
import time
from typing import Any

import pytest

from aksml.errors import WebserviceException
from aksml.runtime.telemetry import (
    FinishedRequest,
    RequestSampler,
    Telemetry,
    telemetry_from_env,
)


def _of_type(envelopes: list[dict[str, Any]], base_type: str) -> list[dict[str, Any]]:
    return [e for e in envelopes if e["data"]["baseType"] == base_type]


def test_no_connection_string_means_no_telemetry() -> None:
    assert telemetry_from_env({}, service_name="s", service_version="1") is None


def test_requests_dependencies_exceptions_and_logs_arrive(ingestion: Any) -> None:
    telemetry = telemetry_from_env(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string, "HOSTNAME": "pod-7"},
        service_name="iris-svc",
        service_version="3",
        sample_rate=1.0,
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
        sample_rate=1.0,
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
        ingestion.connection_string,
        service_name="s",
        service_version="1",
        capture_logs=False,
        sample_rate=1.0,
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
        sample_rate=1.0,
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


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_adaptive_sampling_exports_about_the_target_rate_with_whole_item_counts() -> None:
    clock = FakeClock()
    sampler = RequestSampler(max_items_per_second=5, clock=clock, rand=random.Random(7).random)
    kept: list[float] = []
    for _ in range(10 * 1000):  # 10 s at 1000 requests/s
        clock.now += 0.001
        rate = sampler.sample()
        if rate:
            kept.append(rate)
    # the first window (64 requests) goes out whole (the rate is not known yet), then ~5/s
    assert 63 <= len(kept) <= 64 + 5 * 10 * 2
    later = kept[64:]
    assert later  # 1000/s over a target of 5/s: about 1 in 200, a whole number
    assert all(100.0 / r == round(100.0 / r) and 195 <= 100.0 / r <= 205 for r in later)
    assert sampler.sample(failed=True) == 100.0  # failures always go
    # a pause of a few seconds does not re-open the gates: the next burst is sampled at once
    clock.now += 5.0
    burst = [sampler.sample() for _ in range(64)]
    assert sum(1 for r in burst if r) <= 4  # about 64 / 170
    # traffic drops to 2 requests/s for minutes: everything is exported again
    for _ in range(600):
        clock.now += 0.5
        rate = sampler.sample()
    assert rate == 100.0 and sampler.ratio == 1.0


def test_fixed_sampling_keeps_its_fraction_and_failures() -> None:
    every = RequestSampler(1.0)
    assert all(every.sample() == 100.0 for _ in range(1000))
    none = RequestSampler(0.0)
    assert {none.sample() for _ in range(100)} == {0.0}
    assert none.sample(failed=True) == 100.0
    draws = iter([0.1, 0.3, 0.2, 0.9])
    quarter = RequestSampler(0.25, rand=lambda: next(draws))
    assert [quarter.sample() for _ in range(4)] == [25.0, 0.0, 25.0, 0.0]
    with pytest.raises(ValueError):
        RequestSampler(1.5)


def test_adaptive_default_marks_sampled_items_and_always_sends_failures(ingestion: Any) -> None:
    telemetry = telemetry_from_env(
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string},
        service_name="s",
        service_version="1",
    )
    assert telemetry is not None and telemetry.sampler.adaptive
    # the same sampler on a simulated clock: 2 s at 1000 requests/s
    clock = FakeClock()
    draws = iter([i / 997 % 1.0 for i in range(100_000)])
    telemetry.sampler = RequestSampler(clock=clock, rand=lambda: next(draws))
    try:
        for i in range(2000):
            clock.now += 0.001
            telemetry.request(FinishedRequest(f"b{i}", "POST", "/score", 200, time.time(), 1, 1))
        for i in range(3):
            telemetry.request(
                FinishedRequest(f"f{i}", "POST", "/score", 502, time.time(), 1, 1, "boom")
            )
        telemetry.flush()
        envelopes = ingestion.wait_for(
            lambda e: sum(x["data"]["baseType"] == "ExceptionData" for x in e) == 3
        )
    finally:
        telemetry.shutdown()
    requests = _of_type(envelopes, "RequestData")
    failed = [r for r in requests if r["data"]["baseData"]["responseCode"] == "502"]
    assert len(failed) == 3 and all("sampleRate" not in r for r in failed)
    sampled = [r for r in requests if "sampleRate" in r]
    assert sampled, "requests after the first window carry their sampling percentage"
    for r in sampled:
        keep_one_in = 100.0 / r["sampleRate"]
        assert keep_one_in == round(keep_one_in) and 195 <= keep_one_in <= 205
    # the first window (64) whole, then about 5 per second
    assert 64 + 3 < len(requests) <= 64 + 3 + 5 * 2 * 2
