"""What each planned object waits for (aksml.plan.ordering): routes wait for the Services and
Deployments of every version they send traffic to; Deployments wait for what they mount."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from aksml.plan.ordering import dependencies

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def _load(name: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((GOLDEN / name).glob("*.yaml"))]


def test_route_waits_for_every_version_it_routes_to() -> None:
    waits = dependencies(_load("ab-test"))
    assert waits[("HTTPRoute", "abtest")] == [
        ("Deployment", "abtest-blue"),
        ("Deployment", "abtest-green"),
        ("Service", "abtest-blue"),
        ("Service", "abtest-green"),
    ]


def test_mirror_only_backend_is_waited_for() -> None:
    objs = copy.deepcopy(_load("ab-test"))
    route = next(o for o in objs if o["kind"] == "HTTPRoute")
    route["spec"]["rules"] = [route["spec"]["rules"][-1]]
    split = route["spec"]["rules"][0]
    split["backendRefs"] = split["backendRefs"][:1]  # green only receives the mirror
    assert ("Deployment", "abtest-green") in dependencies(objs)[("HTTPRoute", "abtest")]


def test_deployment_waits_for_what_it_mounts() -> None:
    waits = dependencies(_load("quickstart"))
    assert waits[("Deployment", "iris")] == [
        ("ConfigMap", "iris-code-6d1d1f868d"),
        ("ConfigMap", "iris-env-c1ae0b93c1"),
        ("Secret", "iris-keys"),
    ]


def test_ingress_waits_and_references_outside_the_render_are_ignored() -> None:
    objs = _load("ingress")
    waits = dependencies(objs)
    assert waits[("Ingress", "sentiment")] == [
        ("Deployment", "sentiment"),
        ("Service", "sentiment"),
    ]
    # a TLS Secret or a Secret the user created is not in the render: nothing to wait for
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["volumes"].append(
        {"name": "ext", "secret": {"secretName": "created-by-hand"}}
    )
    assert ("Secret", "created-by-hand") not in dependencies(objs)[("Deployment", "sentiment")]
    assert ("Service", "sentiment") not in dependencies(objs)  # a Service waits for nothing
