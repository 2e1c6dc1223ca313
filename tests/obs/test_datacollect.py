"""Model data collection: records, partitions, sampling, truncation, backpressure, flush."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aksml.errors import WebserviceException
from aksml.runtime.datacollect import (
    DataCollector,
    DirectorySink,
    ModelRef,
    build_collector,
    model_partition,
    models_from_dir,
)

AT = datetime(2026, 11, 25, 3, 40, 12, 345678, tzinfo=UTC).timestamp()


def read_jsonl(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Every collected record under ``root`` keyed by its path relative to ``root``."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(root.rglob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        found[str(path.relative_to(root))] = [json.loads(line) for line in lines]
    return found


def make(tmp_path: Path, **kwargs: Any) -> DataCollector:
    kwargs.setdefault("models", (ModelRef("iris", "3"),))
    return DataCollector(DirectorySink(tmp_path), service="svc", writer_id="pod-1", **kwargs)


def test_models_from_dir_single_multiple_and_none(tmp_path: Path) -> None:
    assert models_from_dir("/var/azureml-app/azureml-models/iris/3") == (ModelRef("iris", "3"),)
    for name, versions in {"b": ["2", "10"], "a": ["1"], "notes": []}.items():
        for v in versions:
            (tmp_path / name / v).mkdir(parents=True)
    (tmp_path / "notes").mkdir(exist_ok=True)
    assert models_from_dir(str(tmp_path)) == (
        ModelRef("a", "1"),
        ModelRef("b", "2"),
        ModelRef("b", "10"),
    )
    assert models_from_dir("") == ()
    assert models_from_dir(str(tmp_path / "missing")) == ()
    assert model_partition(()) == ("unknown", "0")
    assert model_partition((ModelRef("a", "1"), ModelRef("b", "2"))) == ("a+b", "1+2")


def test_records_are_partitioned_like_v1_with_ids_and_models(tmp_path: Path) -> None:
    collector = make(tmp_path)
    assert collector.offer("req-1", b'{"data": [[1, 2]]}', b'{"result": [0]}', 200, at=AT)
    assert collector.offer("req-2", b"plain text", b'{"message": "boom"}', 502, at=AT)
    assert collector.offer("req-3", b"\xff\xfe", None, 400, at=AT)
    collector.flush()
    files = read_jsonl(tmp_path)
    base = "svc/iris/3/{}/2026/11/25/data-03-pod-1.jsonl"
    assert sorted(files) == [base.format("inputs"), base.format("predictions")]
    inputs = files[base.format("inputs")]
    predictions = files[base.format("predictions")]
    assert [r["requestId"] for r in inputs] == ["req-1", "req-2", "req-3"]
    assert inputs[0] == {
        "time": "2026-11-25T03:40:12.345678Z",
        "requestId": "req-1",
        "service": "svc",
        "models": [{"name": "iris", "version": "3"}],
        "input": {"data": [[1, 2]]},
    }
    assert inputs[1]["input"] == "plain text"
    assert inputs[2]["input"] == "//4="
    assert inputs[2]["inputEncoding"] == "base64"
    assert predictions[0]["status"] == 200
    assert predictions[0]["prediction"] == {"result": [0]}
    assert "error" not in predictions[0]
    assert predictions[1]["error"] == {"message": "boom"}
    assert predictions[1]["status"] == 502
    assert predictions[2] == {**predictions[2], "status": 400, "error": None}
    assert collector.stats.written == 6
    assert collector.stats.offered == 3


def _strict(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_every_line_is_strict_single_line_json(tmp_path: Path) -> None:
    collector = make(tmp_path)
    payloads = [
        b'{\r\n  "data": [1, 2]\n}',  # valid JSON over several lines
        b"[NaN]",  # Python's json accepts it, JSON does not: kept as a string
        b"  ",  # whitespace only
        b'"caf\xc3\xa9"',  # a JSON string, UTF-8
        b"line one\nline two",  # text with a newline
        b"",
    ]
    for i, payload in enumerate(payloads):
        assert collector.offer(f"r{i}", payload, payload, 200 + 100 * (i % 2), at=AT + i)
    collector.flush()
    files = read_jsonl(tmp_path)
    (inputs,) = [v for k, v in files.items() if "/inputs/" in k]
    (predictions,) = [v for k, v in files.items() if "/predictions/" in k]
    for path in tmp_path.rglob("*.jsonl"):
        lines = path.read_text(encoding="utf-8").split("\n")
        assert lines[-1] == "" and len(lines) == len(payloads) + 1
        for line in lines[:-1]:
            _strict(line)
    assert [r["input"] for r in inputs] == [
        {"data": [1, 2]},
        "[NaN]",
        "  ",
        "caf\u00e9",
        "line one\nline two",
        "",
    ]
    assert [r.get("prediction", r.get("error")) for r in predictions] == [
        r["input"] for r in inputs
    ]
    assert [r["time"] for r in inputs][:2] == [
        "2026-11-25T03:40:12.345678Z",
        "2026-11-25T03:40:13.345678Z",
    ]


def test_requests_are_filed_by_the_hour_they_arrived(tmp_path: Path) -> None:
    collector = make(tmp_path)
    hour = 3600.0
    # finished out of order across an hour boundary
    for i, at in enumerate([AT, AT + hour, AT + 0.5, AT + hour + 0.25]):
        collector.offer(f"r{i}", b"[%d]" % i, b"[0]", 200, at=at)
    collector.flush()
    files = read_jsonl(tmp_path)
    base = "svc/iris/3/inputs/2026/11/25/data-{}-pod-1.jsonl"
    assert [r["requestId"] for r in files[base.format("03")]] == ["r0", "r2"]
    assert [r["requestId"] for r in files[base.format("04")]] == ["r1", "r3"]
    assert [r["time"] for r in files[base.format("04")]] == [
        "2026-11-25T04:40:12.345678Z",
        "2026-11-25T04:40:12.595678Z",
    ]


def test_sampling_is_decided_by_request_id(tmp_path: Path) -> None:
    none = make(tmp_path / "none", sample_rate=0.0)
    assert not none.offer("x", b"1", b"1", 200, at=AT)
    half = make(tmp_path / "half", sample_rate=0.5)
    ids = [f"req-{i}" for i in range(200)]
    kept = [i for i in ids if half.offer(i, b"1", b"2", 200, at=AT)]
    assert kept == [i for i in ids if half.sampled(i)]
    assert 0 < len(kept) < len(ids)
    half.flush()
    recorded = read_jsonl(tmp_path / "half")
    (inputs,) = [v for k, v in recorded.items() if "/inputs/" in k]
    assert [r["requestId"] for r in inputs] == kept


def test_large_payloads_are_truncated_with_a_marker(tmp_path: Path) -> None:
    collector = make(tmp_path, max_record_bytes=10)
    collector.offer("big", b'{"data": "' + b"x" * 100 + b'"}', b"[1]", 200, at=AT)
    collector.flush()
    files = read_jsonl(tmp_path)
    (record,) = next(v for k, v in files.items() if "/inputs/" in k)
    assert record["input"] == '{"data": "'
    assert record["inputTruncated"] == {"originalBytes": 112, "keptBytes": 10}
    (prediction,) = next(v for k, v in files.items() if "/predictions/" in k)
    assert prediction["prediction"] == [1]
    assert "predictionTruncated" not in prediction
    assert collector.stats.truncated == 1


class BlockingSink(DirectorySink):
    """A directory sink whose appends wait until released (a slow storage account)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.release = threading.Event()
        self.entered = threading.Event()

    def append(self, path: str, data: bytes) -> None:
        self.entered.set()
        assert self.release.wait(30)
        super().append(path, data)


def test_slow_sink_drops_new_records_and_counts_them(tmp_path: Path) -> None:
    sink = BlockingSink(tmp_path)
    # each record weighs its payload + 256 bytes of overhead: room for 4 records
    collector = DataCollector(
        sink, service="svc", writer_id="w", buffer_bytes=4 * 266, flush_interval_s=0.01
    )
    collector.start()
    assert collector.offer("first", b"0123456789", None, 200, at=AT)
    assert sink.entered.wait(30)  # the writer holds "first" and is stuck in the sink
    accepted = [collector.offer(f"r{i}", b"0123456789", None, 200, at=AT) for i in range(10)]
    assert accepted == [True] * 4 + [False] * 6
    assert collector.stats.dropped["buffer_full"] == 6
    assert collector.queue_depth == 4
    sink.release.set()
    collector.close()
    ids = [r["requestId"] for k, v in read_jsonl(tmp_path).items() if "/inputs/" in k for r in v]
    assert ids == ["first", "r0", "r1", "r2", "r3"]
    assert not collector.offer("late", b"1", None, 200, at=AT)
    assert collector.stats.dropped["closed"] == 1


class FailingSink(DirectorySink):
    """Fails every append to inputs files."""

    def append(self, path: str, data: bytes) -> None:
        if "/inputs/" in path:
            raise OSError("disk full")
        super().append(path, data)


def test_sink_errors_are_counted_not_raised(tmp_path: Path) -> None:
    collector = DataCollector(FailingSink(tmp_path), service="svc", writer_id="w")
    for i in range(3):
        collector.offer(f"r{i}", b"1", b"2", 200, at=AT)
    collector.flush()
    assert collector.stats.dropped["sink_error"] == 3
    assert collector.stats.written == 3  # the prediction lines


def test_close_writes_everything_buffered(tmp_path: Path) -> None:
    collector = make(tmp_path, flush_interval_s=3600)
    collector.start()
    for i in range(500):
        assert collector.offer(f"r{i}", b'{"i": %d}' % i, b"[0]", 200, at=AT)
    collector.close()
    files = read_jsonl(tmp_path)
    (inputs,) = [v for k, v in files.items() if "/inputs/" in k]
    assert [r["input"]["i"] for r in inputs] == list(range(500))


def test_invalid_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        make(tmp_path, sample_rate=1.5)
    with pytest.raises(ValueError, match="positive"):
        make(tmp_path, buffer_bytes=0)


def test_unsafe_service_names_stay_one_segment(tmp_path: Path) -> None:
    collector = DataCollector(
        DirectorySink(tmp_path), service="../etc", models=(ModelRef("a/b", "1"),), writer_id="w"
    )
    collector.offer("r", b"1", b"1", 200, at=AT)
    collector.flush()
    assert sorted(read_jsonl(tmp_path)) == [
        "_etc/a_b/1/inputs/2026/11/25/data-03-w.jsonl",
        "_etc/a_b/1/predictions/2026/11/25/data-03-w.jsonl",
    ]


def test_metrics_are_read_at_scrape_time(tmp_path: Path) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from aksml.runtime.datacollect import DataCollectionMetrics

    collector = make(tmp_path, buffer_bytes=300)
    registry = CollectorRegistry()
    registry.register(DataCollectionMetrics(collector))
    collector.offer("a", b"1", b"2", 200, at=AT)
    collector.offer("b", b"1", b"2", 200, at=AT)  # buffer full
    assert registry.get_sample_value("aksml_data_collection_queue_depth") == 1
    collector.flush()
    assert registry.get_sample_value("aksml_data_collection_records_written_total") == 2
    assert (
        registry.get_sample_value("aksml_data_collection_dropped_total", {"reason": "buffer_full"})
        == 1
    )
    assert registry.get_sample_value("aksml_data_collection_queue_depth") == 0
    assert b"aksml_data_collection_truncated_total 0.0" in generate_latest(registry)


def test_build_collector_needs_exactly_one_sink(tmp_path: Path) -> None:
    with pytest.raises(WebserviceException, match="exactly one of --data-collection-dir"):
        build_collector(service="s", model_dir=None, directory=None, blob_url=None)
    with pytest.raises(WebserviceException, match="exactly one"):
        build_collector(
            service="s", model_dir=None, directory=str(tmp_path), blob_url="https://a/b"
        )
    model_dir = tmp_path / "azureml-models" / "iris" / "3"
    model_dir.mkdir(parents=True)
    built = build_collector(
        service="s",
        model_dir=str(model_dir),
        directory=str(tmp_path / "out"),
        blob_url=None,
        sample_rate=0.5,
    )
    assert built.models == (ModelRef("iris", "3"),)
    assert built.sample_rate == 0.5
    assert isinstance(built.sink, DirectorySink)
