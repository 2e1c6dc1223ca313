"""Helpers of the container lane: play rendered examples under podman and reach them."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from aksml.offline import engine as eng

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
READY_TIMEOUT_S = 300.0

Obj = dict[str, Any]


@dataclass
class Played:
    """Rendered pods running under podman."""

    engine: eng.Engine
    pods: dict[str, eng.EnginePod]
    """By rendered Deployment name."""
    objects: list[Obj]
    """The adapted objects that were played."""
    manifest: Path
    play_started: float
    """time.monotonic() when ``kube play`` started."""
    ready_at: dict[str, float]
    """Deployment -> time.monotonic() when its readiness URL first answered 200."""

    def exec(self, pod: eng.EnginePod, *cmd: str) -> subprocess.CompletedProcess[str]:
        """Run a command in the pod's runtime container."""
        return subprocess.run(
            [self.engine.binary, "exec", f"{pod.pod}-{pod.runtime_container}", *cmd],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def render(example: str) -> list[Obj]:
    """``aksml render examples/<example>`` in its own process (as a user runs it; Pulumi's
    mock engine keeps global state that must not meet other tests' mocks), read back."""
    aksml = Path(sys.executable).parent / "aksml"
    with tempfile.TemporaryDirectory(prefix="aksml-render-") as out:
        subprocess.run(
            [str(aksml), "render", str(EXAMPLES / example), "-o", out],
            check=True,
            capture_output=True,
            timeout=300,
        )
        return [yaml.safe_load(f.read_text()) for f in sorted(Path(out).glob("*.yaml"))]


def play(
    podman: eng.Engine,
    image: str,
    example: str,
    tweak: Callable[[list[Obj]], None] | None = None,
) -> Iterator[Played]:
    """Render ``examples/<example>``, ``tweak`` the render (test-only stand-ins), adapt,
    ``kube play``, wait for every pod's readiness URL; yield; remove everything played."""
    rendered = render(example)
    if tweak is not None:
        tweak(rendered)
    objs, pods = eng.adapt(rendered, image=image, ca_bundle=None)
    with tempfile.TemporaryDirectory(prefix="aksml-lane-") as tmp:
        manifest = Path(tmp) / "pods.yaml"
        manifest.write_text(eng.to_kube_yaml(objs))
        started = time.monotonic()
        try:
            podman.play(manifest)
            ready_at: dict[str, float] = {}
            for pod in pods:
                if not podman.wait_ready(pod, READY_TIMEOUT_S, lambda: False):
                    logs = podman.logs(pod, pod.runtime_container)[-3000:]
                    pytest.fail(f"{pod.deployment} did not become ready; its log:\n{logs}")
                ready_at[pod.deployment] = time.monotonic()
            yield Played(podman, {p.deployment: p for p in pods}, objs, manifest, started, ready_at)
        finally:
            podman.down(manifest)
