"""Wiring: which observers exist for which settings, and what they hand to each feature."""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from aksml.errors import WebserviceException
from aksml.runtime.accesslog import AccessLog
from aksml.runtime.observe import Observability, ObservabilityConfig


@dataclass(frozen=True, slots=True)
class Record:
    """Same fields as aksml.runtime.hooks.RequestRecord."""

    request_id: str
    method: str = "POST"
    path: str = "/score"
    status: int = 200
    input: bytes = b'{"x": 1}'
    query: bytes = b""
    output: bytes = b"[1]"
    error: str | None = None
    started_at: float = 1764042012.0
    queue_ms: float = 0.1
    run_ms: float = 1.0
    total_ms: float = 2.0


def test_everything_off_means_no_observers() -> None:
    obs = Observability.from_config(ObservabilityConfig(), {})
    assert obs.observers == []
    registry = CollectorRegistry()
    obs.register_metrics(registry)
    assert list(registry.collect()) == []
    obs.close()


def test_collection_skips_rejected_requests_and_keeps_get_queries(tmp_path: Path) -> None:
    model_dir = tmp_path / "azureml-models" / "iris" / "3"
    model_dir.mkdir(parents=True)
    obs = Observability.from_config(
        ObservabilityConfig(
            service_name="svc",
            model_dir=str(model_dir),
            collect_model_data=True,
            data_collection_dir=str(tmp_path / "out"),
        ),
        {},
    )
    registry = CollectorRegistry()
    obs.register_metrics(registry)
    obs.start()
    (observe,) = obs.observers
    observe(Record("ok"))
    observe(Record("queued-out", status=503, run_ms=0.0, output=b'{"message": "busy"}'))
    observe(Record("timeout", status=504, run_ms=60000.0, output=b'{"message": "t"}'))
    observe(Record("get", method="GET", input=b"", query=b"a=1&b=2"))
    obs.close()
    inputs = next((tmp_path / "out").rglob("inputs/*/*/*/*.jsonl"))
    assert "svc/iris/3/inputs" in str(inputs)
    lines = [json.loads(x) for x in inputs.read_text().splitlines()]
    assert [(r["requestId"], r["input"]) for r in lines] == [
        ("ok", {"x": 1}),
        ("timeout", {"x": 1}),
        ("get", "a=1&b=2"),
    ]
    assert registry.get_sample_value("aksml_data_collection_records_written_total") == 6


def test_collection_without_a_sink_is_a_clear_error() -> None:
    with pytest.raises(WebserviceException, match="collect_model_data needs exactly one"):
        Observability.from_config(ObservabilityConfig(collect_model_data=True), {})


def test_telemetry_uses_service_and_model_version(ingestion: Any, tmp_path: Path) -> None:
    model_dir = tmp_path / "iris" / "7"
    model_dir.mkdir(parents=True)
    obs = Observability.from_config(
        ObservabilityConfig(service_name="svc", model_dir=str(model_dir)),
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string},
    )
    assert obs.telemetry is not None
    assert obs.telemetry.resource_attributes["service.version"] == "7"
    (observe,) = obs.observers
    observe(Record("req-42", started_at=time.time()))
    obs.close()
    envelopes = ingestion.wait_for(lambda e: any(x["data"]["baseType"] == "RequestData" for x in e))
    request = next(x for x in envelopes if x["data"]["baseType"] == "RequestData")
    assert request["data"]["baseData"]["properties"]["request_id"] == "req-42"
    assert request["tags"]["ai.cloud.role"] == "svc"


def test_access_log_observer() -> None:
    stream = io.StringIO()
    obs = Observability(access_log=AccessLog(stream))
    (observe,) = obs.observers
    observe(Record("req-a", status=502, error="boom"))
    obs.close()
    line = json.loads(stream.getvalue())
    assert (line["requestId"], line["status"], line["error"]) == ("req-a", 502, "boom")
    assert '{"x": 1}' not in stream.getvalue()


def test_app_insights_sample_rate_setting_defaults_to_adaptive(tmp_path: Path) -> None:
    from aksml.runtime.settings import resolve_settings

    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\n\ndef run(raw):\n    return raw\n")
    base = {"entry_script": str(script)}
    assert resolve_settings(base, {}, cwd=tmp_path).app_insights_sample_rate == "adaptive"
    flags = {**base, "app_insights_sample_rate": "0.5"}
    assert resolve_settings(flags, {}, cwd=tmp_path).app_insights_sample_rate == 0.5
    env = {"AKSML_APP_INSIGHTS_SAMPLE_RATE": " Adaptive "}
    assert resolve_settings(base, env, cwd=tmp_path).app_insights_sample_rate == "adaptive"
    with pytest.raises(WebserviceException, match="expected 'adaptive' or a number"):
        resolve_settings({**base, "app_insights_sample_rate": "fast"}, {}, cwd=tmp_path)
    with pytest.raises(WebserviceException, match="--app-insights-sample-rate"):
        resolve_settings({**base, "app_insights_sample_rate": "1.5"}, {}, cwd=tmp_path)


def test_the_server_builds_adaptive_telemetry_by_default(
    tmp_path: Path, ingestion: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aksml.runtime.server import make_observability
    from aksml.runtime.settings import resolve_settings

    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\n\ndef run(raw):\n    return raw\n")
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", ingestion.connection_string)
    for flags, adaptive in (({}, True), ({"app_insights_sample_rate": "1"}, False)):
        settings = resolve_settings({"entry_script": str(script), **flags}, {}, cwd=tmp_path)
        obs = make_observability(settings)
        try:
            assert obs.telemetry is not None
            assert obs.telemetry.sampler.adaptive is adaptive
        finally:
            obs.close()


def test_telemetry_moves_startup_objects_out_of_the_collectors_reach(ingestion: Any) -> None:
    import gc

    obs = Observability.from_config(
        ObservabilityConfig(app_insights_sample_rate=1.0),
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string},
    )
    assert gc.get_freeze_count() == 0
    obs.start()
    try:
        assert gc.get_freeze_count() > 1000  # the SDK modules among them
    finally:
        obs.close()
    assert gc.get_freeze_count() == 0
