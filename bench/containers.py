"""Runtime image size and cold start under podman (docs/benchmarks.md, "Container image").

    uv run python bench/containers.py --image localhost/aksml-runtime:lane [--runs 3]

For each run: render examples/quickstart, adapt it with ``aksml.offline.engine`` (as
``aksml serve --engine podman``), ``podman kube play``, and time play -> ready (the readiness
URL answers 200; includes the init container pip-installing scikit-learn) and ready -> first
200 (a scoring call with the primary key). Prints the image size, what the image must not
contain, and best/median of the runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from aksml.offline import engine as eng
from aksml.offline.render import render_program

ROOT = Path(__file__).resolve().parents[1]
IRIS = {"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}
FORBIDDEN = (
    "python -c 'import pulumi' 2>/dev/null && echo pulumi; "
    "for t in gcc cc c++ g++ clang make; do command -v $t; done; "
    "find / -xdev \\( -path '*/.cache/pip' -o -path '*/.cache/uv' \\) 2>/dev/null; true"
)


def image_report(podman: eng.Engine, image: str) -> None:
    """Size, and the Pulumi SDKs / compilers / pip caches that must be absent."""
    size = int(podman.run("image", "inspect", image, "--format", "{{.Size}}").strip())
    print(f"image {image}: {size / 1e6:.0f} MB")
    found = podman.run("run", "--rm", "--entrypoint", "sh", image, "-c", FORBIDDEN).strip()
    print(f"pulumi / compilers / pip caches in the image: {found or 'none'}")


def _started_at(podman: eng.Engine, pod: eng.EnginePod) -> float:
    """Wall-clock start of the runtime container (after the init container finished)."""
    name = f"{pod.pod}-{pod.runtime_container}"
    stamp = podman.run("container", "inspect", name, "--format", "{{.State.StartedAt}}").strip()
    day, clock = stamp.split()[:2]  # 2026-01-01 00:00:00.123456789 +0000 UTC
    head, _, frac = clock.partition(".")
    return datetime.fromisoformat(f"{day}T{head}.{(frac + '000000')[:6]}+00:00").timestamp()


def cold_start(podman: eng.Engine, image: str) -> tuple[float, float, float]:
    """(play -> runtime container started, i.e. the init container's pip install;
    play -> ready; ready -> first 200) for one fresh quickstart pod."""
    objs, pods = eng.adapt(render_program(ROOT / "examples" / "quickstart"), image=image)
    (pod,) = pods
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "pods.yaml"
        manifest.write_text(eng.to_kube_yaml(objs))
        try:
            started, wall = time.monotonic(), time.time()
            podman.play(manifest)
            if not podman.wait_ready(pod, 600, lambda: False):
                raise SystemExit(podman.logs(pod, pod.runtime_container))
            ready = time.monotonic()
            auth = {"Authorization": f"Bearer {pod.keys['primaryKey']}"}
            while httpx.post(pod.scoring_uri, json=IRIS, headers=auth).status_code != 200:
                time.sleep(0.01)
            first = time.monotonic()
            return _started_at(podman, pod) - wall, ready - started, first - ready
        finally:
            podman.down(manifest)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="localhost/aksml-runtime:lane")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    podman = eng.Engine("podman")
    image_report(podman, args.image)
    runs = [cold_start(podman, args.image) for _ in range(args.runs)]
    for name, values in (
        ("play -> runtime container started (init: pip install)", [r[0] for r in runs]),
        ("play -> ready", [r[1] for r in runs]),
        ("ready -> first 200", [r[2] for r in runs]),
    ):
        print(
            f"{name}: best {min(values):.2f} s, median {statistics.median(values):.2f} s "
            f"({', '.join(f'{v:.2f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
