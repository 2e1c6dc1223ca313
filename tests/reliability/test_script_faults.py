"""Faults inside score.py that are not ordinary exceptions must cost one request, not the
server: after run() called sys.exit(), the next request is served normally, in thread mode
(one slot) and in worker-process mode (two slots)."""

from __future__ import annotations

import json

import httpx
import pytest
from relkit import SCRIPTS, RuntimeFactory, report

from aksml import contract as c


@pytest.mark.parametrize("slots", [1, 2], ids=["thread", "process"])
def test_sys_exit_in_run_costs_one_request(runtimes: RuntimeFactory, slots: int) -> None:
    rt = runtimes.start(
        SCRIPTS / "score_exits.py",
        settings={c.MAX_CONCURRENT_REQUESTS: slots, c.MAX_REQUEST_WAIT_MS: 10_000},
    )
    statuses = []
    with httpx.Client(timeout=30, headers=rt.headers()) as client:
        for _ in range(3):
            bad = client.post(rt.score_url, content=json.dumps({"exit": True}).encode())
            statuses.append(bad.status_code)
            assert bad.status_code == 502, bad.text
            assert bad.headers["x-ms-run-function-failed"] == "True"
            for _ in range(2 * slots):
                good = client.post(rt.score_url, content=b"{}")
                assert good.status_code == 200, good.text
    assert rt.proc.returncode() is None
    report(
        f"sys.exit() in run() ({'thread' if slots == 1 else 'process'} mode)",
        load="sequential requests",
        faults="3 × run() calling sys.exit()",
        requests=3 + 6 * slots,
        lost=0,
    )
