"""Rolling restart under load: two runtimes behind nginx, one terminated and restarted the way
Kubernetes does it, zero failed client requests.

The sequence is the Deployment's: the pod turns Terminating and leaves the Service's endpoints
(here: nginx reloads without it), preStop sleeps, SIGTERM arrives -- readiness fails at once,
in-flight calls finish, exit 0 -- then a new pod starts and joins the endpoints only once its
readiness passes, which needs init() to have returned (init() sleeps here).
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from relkit import LoadBalancer, Runtime, RuntimeFactory, SteadyLoad, report, scaled

INIT_SLEEP_S = 1.0
"""How long init() takes in the restarted process (readiness must wait for it)."""
PRESTOP_S = 0.3
"""preStop sleep: time for the endpoints change to reach every proxy before SIGTERM."""
DRAIN_CALL_S = 1.5
"""A call in flight when SIGTERM arrives; it must still complete with 200."""


def _body(n: int) -> bytes:
    return json.dumps({"id": n, "sleep": 0.02}).encode()


def _call_in_background(victim: Runtime) -> tuple[threading.Thread, dict[str, int]]:
    """POST a DRAIN_CALL_S call straight to ``victim`` from a thread; its status lands in the
    returned dict."""
    result: dict[str, int] = {}

    def call() -> None:
        resp = httpx.post(
            victim.score_url,
            content=json.dumps({"id": "drain", "sleep": DRAIN_CALL_S}).encode(),
            headers=victim.headers(),
            timeout=30,
        )
        result["status"] = resp.status_code

    thread = threading.Thread(target=call)
    thread.start()
    return thread, result


def _wait_in_flight(rt: Runtime, timeout: float = 10.0) -> None:
    """Until the runtime reports a run() call in flight (its /metrics gauge)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for family in text_string_to_metric_families(httpx.get(rt.metrics_url, timeout=5).text):
            for sample in family.samples:
                if sample.name == "aksml_requests_in_flight" and sample.value >= 1:
                    return
        time.sleep(0.02)
    raise AssertionError("the drain probe call never started")


def test_rolling_restart_under_load_loses_no_request(
    runtimes: RuntimeFactory, tmp_path: Path
) -> None:
    env = {"SCORE_INIT_SLEEP_S": str(INIT_SLEEP_S)}
    first = runtimes.start(env=env)
    pods = [first, runtimes.start(env=env, keys=(first.key, first.secondary_key))]
    lb = LoadBalancer(tmp_path / "lb", [p.port for p in pods]).start()
    cycles = int(scaled(2, 10))
    ready_after: list[float] = []
    try:
        with SteadyLoad(lb.score_url, pods[0].headers(), _body, concurrency=4) as load:
            time.sleep(0.5)
            for cycle in range(cycles):
                victim, survivor = pods[cycle % 2], pods[(cycle + 1) % 2]
                # 1. Terminating: out of the endpoints; 2. preStop
                lb.set_backends([survivor.port])
                time.sleep(PRESTOP_S)
                # a call still in flight on the victim when SIGTERM arrives
                caller, in_flight = _call_in_background(victim)
                _wait_in_flight(victim)
                # 3. SIGTERM: readiness fails at once, the in-flight call completes, exit 0
                victim.proc.send_signal(signal.SIGTERM)
                ready_status = httpx.get(victim.ready_url, timeout=5).status_code
                assert ready_status == 503, f"readiness answered {ready_status} while draining"
                assert victim.proc.wait(timeout=30) == 0
                caller.join(30)
                assert in_flight.get("status") == 200, f"in-flight call got {in_flight}"
                # 4. the replacement: ready only after init(), then back in the endpoints
                started = time.monotonic()
                victim.start(wait_ready=True)
                ready_after.append(time.monotonic() - started)
                lb.set_backends([p.port for p in pods])
                time.sleep(0.3)
            time.sleep(0.3)
    finally:
        lb.stop()
    failures = load.failures()
    summary = {
        "requests": len(load.outcomes),
        "failed": len(failures),
        "first_failures": [f.__dict__ for f in failures[:5]],
    }
    report(
        "rolling restart",
        load=f"4 clients, {len(load.outcomes)} requests",
        faults=f"{cycles} SIGTERM + restart cycles",
        requests=len(load.outcomes),
        lost=len(failures),
    )
    assert len(load.outcomes) >= 50 * cycles, summary
    assert failures == [], summary
    # readiness never passed before init() returned
    assert min(ready_after) >= INIT_SLEEP_S
