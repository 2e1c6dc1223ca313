"""Cost of the preview-time Gateway API CEL check: milliseconds per rendered HTTPRoute.

Runs ``aksml.plan.crd_cel.cel_problems`` (schema defaults, escaping, all 89 rules of the
v1 HTTPRoute schema, per-item walk) on the ab-test golden route, best of N rounds:

    uv run python bench/gateway_cel.py [rounds] [routes-per-round]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml

from aksml.plan.crd_cel import cel_problems

ROUTE = (
    Path(__file__).resolve().parents[1] / "tests" / "golden" / "ab-test" / "httproute-abtest.yaml"
)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    per_round = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    route = yaml.safe_load(ROUTE.read_text())
    started = time.perf_counter()
    assert cel_problems(route) == []  # first call: loads the CRD, compiles the rules
    first = time.perf_counter() - started
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(per_round):
            cel_problems(route)
        best = min(best, (time.perf_counter() - started) / per_round)
    print(f"first call (load CRD + compile 89 rules + evaluate): {first * 1000:.1f} ms")
    print(f"per route, best of {rounds} x {per_round}: {best * 1000:.2f} ms")


if __name__ == "__main__":
    main()
