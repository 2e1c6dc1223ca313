"""Every example's render (the golden files, which tests/golden keeps equal to a fresh render)
is schema-valid, passes the restricted Pod Security Standard and is internally consistent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aksml.plan.checks import consistency_problems, pod_security_problems

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
EXAMPLES = ("quickstart", "gpu", "ingress")


def load(example: str) -> list[dict[str, Any]]:
    objs = [yaml.safe_load(p.read_text()) for p in sorted((GOLDEN / example).glob("*.yaml"))]
    assert objs, f"no golden files for {example}"
    return objs


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_objects_validate(example: str, validate: Callable[[dict[str, Any]], None]) -> None:
    for obj in load(example):
        validate(obj)


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_pod_security(example: str) -> None:
    assert pod_security_problems(load(example)) == []


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_consistency(example: str) -> None:
    assert consistency_problems(load(example)) == []


def test_examples_cover_the_exposures_and_autoscalers() -> None:
    kinds = {o["kind"] for e in EXAMPLES for o in load(e)}
    assert {"HorizontalPodAutoscaler", "ScaledObject", "Ingress", "Namespace"} <= kinds
    services = {o["spec"]["type"] for e in EXAMPLES for o in load(e) if o["kind"] == "Service"}
    assert services == {"LoadBalancer", "ClusterIP"}
