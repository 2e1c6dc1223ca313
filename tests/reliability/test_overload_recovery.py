"""Overload and recovery: ten times the admission capacity for a while, then normal load.

While overloaded the runtime sheds with 503 (nothing else), liveness keeps answering, memory
stays bounded; afterwards the queue is empty and latency is back to its baseline.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter

import httpx
from prometheus_client.parser import text_string_to_metric_families
from relkit import Runtime, RuntimeFactory, SteadyLoad, report, scaled

from aksml import contract as c

CAPACITY = 2
"""replica_max_concurrent_requests."""
WAIT_MS = 200
"""max_request_wait_time."""
RUN_S = 0.05
"""Time per run() call under overload."""
RSS_GROWTH_LIMIT = 150 * 1024 * 1024
"""Memory the runtime (all its processes) may gain while overloaded."""


def _gauges(rt: Runtime) -> dict[str, float]:
    text = httpx.get(rt.metrics_url, timeout=5).text
    return {
        s.name: s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name in ("aksml_queue_depth", "aksml_requests_in_flight")
    }


def _latencies(rt: Runtime, client: httpx.Client, n: int) -> list[float]:
    out = []
    for i in range(n):
        started = time.monotonic()
        resp = client.post(
            rt.score_url, content=json.dumps({"id": i}).encode(), headers=rt.headers()
        )
        out.append(time.monotonic() - started)
        assert resp.status_code == 200, resp.text
    return out


def test_overload_sheds_with_503_and_recovers(runtimes: RuntimeFactory) -> None:
    rt = runtimes.start(
        settings={c.MAX_CONCURRENT_REQUESTS: CAPACITY, c.MAX_REQUEST_WAIT_MS: WAIT_MS}
    )
    seconds = scaled(4, 30)
    with httpx.Client(timeout=10) as client:
        _latencies(rt, client, 10)  # warm-up
        baseline = statistics.median(_latencies(rt, client, 30))
        rss_before = rt.rss_bytes()
        rss_peak = rss_before
        live_checks = 0
        body = json.dumps({"sleep": RUN_S}).encode()
        with SteadyLoad(
            rt.score_url, rt.headers(), lambda n: body, concurrency=10 * CAPACITY, keepalive=True
        ) as load:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                live = client.get(rt.live_url)
                assert live.status_code == 200, live.text
                live_checks += 1
                rss_peak = max(rss_peak, rt.rss_bytes())
                time.sleep(0.2)
        statuses = Counter(o.status for o in load.outcomes)
        errors = Counter(o.error for o in load.outcomes if o.error)
        # recovery: the queue drains and latency returns to its baseline
        gauges = _gauges(rt)
        recovered = statistics.median(_latencies(rt, client, 30))
    report(
        "overload and recovery",
        load=f"{10 * CAPACITY} clients vs {CAPACITY} slots ({RUN_S * 1000:.0f} ms run()) "
        f"for {seconds:.0f} s",
        faults=f"{statuses.get(503, 0)} requests shed with 503",
        requests=len(load.outcomes),
        lost=sum(n for code, n in statuses.items() if code not in (200, 503)),
        rss_growth_mb=round((rss_peak - rss_before) / 2**20, 1),
        baseline_ms=round(baseline * 1000, 2),
        recovered_ms=round(recovered * 1000, 2),
    )
    assert not errors, errors
    assert set(statuses) == {200, 503}, statuses
    assert live_checks >= 5
    assert rss_peak - rss_before < RSS_GROWTH_LIMIT, (rss_before, rss_peak)
    assert gauges == {"aksml_queue_depth": 0.0, "aksml_requests_in_flight": 0.0}, gauges
    assert recovered <= 5 * baseline + 0.05, (baseline, recovered)
