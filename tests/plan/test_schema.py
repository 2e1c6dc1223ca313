"""Every rendered object is schema-valid: core kinds with kubernetes-validate --strict
(Kubernetes 1.30 and 1.33), HTTPRoute and ScaledObject against their CRD schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from aksml.plan import WorkloadSettings, plan_webservice
from startable import scripted


def test_every_object_validates(
    scenario: tuple[str, list[dict[str, Any]], WorkloadSettings],
    validate: Callable[[dict[str, Any]], None],
) -> None:
    _, objs, _ = scenario
    for obj in objs:
        validate(obj)


def test_custom_resources_are_really_validated(
    scenario: tuple[str, list[dict[str, Any]], WorkloadSettings],
    validate: Callable[[dict[str, Any]], None],
) -> None:
    """A custom resource with a bad field fails: it is checked, not skipped."""
    _, objs, _ = scenario
    for obj in objs:
        if obj["kind"] not in ("HTTPRoute", "ScaledObject"):
            continue
        broken = {**obj, "spec": {**obj["spec"], "notAField": 1}}
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)


def test_scenarios_cover_both_custom_kinds(scenarios: dict[str, Any]) -> None:
    kinds = {
        o["kind"] for cfg, work in scenarios.values() for o in plan_webservice("abc", cfg, work)
    }
    assert {"HTTPRoute", "ScaledObject", "HorizontalPodAutoscaler", "Ingress"} <= kinds


def test_core_validation_catches_a_wrong_field(
    validate: Callable[[dict[str, Any]], None], config: Callable[..., Any]
) -> None:
    deployment = next(
        o for o in plan_webservice("abc", config(), scripted()) if o["kind"] == "Deployment"
    )
    deployment["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
