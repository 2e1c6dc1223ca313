"""Render cost for 1, 10 and 100 services in one run: does it grow linearly?

Two paths: ``plan`` (a config through the plan and YAML serialisation, as for a config file)
and ``program`` (a Pulumi program with N AksWebservices run under the mock engine, captured
and written to disk, as for a program directory).

Usage: ``uv run python bench/render_bench.py [--repeat N]``. Prints one row per size with
the best-of-N wall time, the time per service and the ratio to the 1-service run; exits 1 when
the per-service cost at 100 services is more than 2x the per-service cost at 10 (superlinear).
Results go in docs/benchmarks.md (render section).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aksml.offline.render import render_program, write_render
from aksml.plan import WorkloadSettings, plan_webservice, to_yaml
from aksml.v1 import deploy_configuration

SIZES = (1, 10, 100)


def render_plan(count: int) -> int:
    """Plan and serialise ``count`` services (the config-file path of ``aksml render``)."""
    config = deploy_configuration(autoscale_enabled=True, autoscale_max_replicas=4).resolve()
    work = WorkloadSettings(exposure="load_balancer")
    total = 0
    for i in range(count):
        for obj in plan_webservice(f"svc-{i:04d}", config, work):
            total += len(to_yaml(obj))
    return total


PROGRAM = """
import aksml

for i in range({count}):
    aksml.AksWebservice(
        f"svc-{{i:04d}}",
        {{"exposure": "load_balancer", "autoscale_enabled": True, "autoscale_max_replicas": 4}},
    )
"""


def render_program_dir(count: int) -> int:
    """Run a Pulumi program with ``count`` AksWebservices under the mock engine and write the
    render (the program path of ``aksml render``)."""
    with tempfile.TemporaryDirectory(prefix="aksml-bench-") as tmp:
        program = Path(tmp) / "program"
        program.mkdir()
        (program / "__main__.py").write_text(PROGRAM.format(count=count), encoding="utf-8")
        objs = render_program(program)
        written = write_render(objs, Path(tmp) / "out")
        assert len(written) == 6 * count, len(written)
        return len(written)


def best_of(fn: Callable[[int], int], count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(count)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    ns = parser.parse_args()
    print(f"{'path':<8} {'services':>8} {'seconds':>9} {'ms/service':>11} {'x vs 1':>7}")
    ok = True
    paths: tuple[tuple[str, Callable[[int], int]], ...] = (
        ("plan", render_plan),
        ("program", render_program_dir),
    )
    for label, fn in paths:
        per: dict[int, float] = {}
        base = 0.0
        for size in SIZES:
            seconds = best_of(fn, size, ns.repeat)
            per[size] = seconds / size
            base = base or seconds
            print(
                f"{label:<8} {size:>8} {seconds:>9.4f} {per[size] * 1000:>11.2f} "
                f"{seconds / base:>7.1f}"
            )
        if per[100] > 2 * per[10]:
            ok = False
            print(f"{label}: per-service cost at 100 is {per[100] / per[10]:.1f}x that at 10")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
