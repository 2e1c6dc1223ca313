"""The shipped CRDs' CEL rules (aksml.plan.crd_cel) on rendered HTTPRoutes and KEDA
ScaledObjects: every route aksml renders passes; routes the API server would refuse are
caught; the harness does what the API server does (defaults first, escaped property names,
per-item rules, an evaluation error counts as a violation)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from aksml.plan import crd_cel, plan_webservice
from aksml.plan.crd_cel import apply_defaults, cel_problems, crd_schema, escape_property

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_ROUTE = ROOT / "tests" / "golden" / "ab-test" / "httproute-abtest.yaml"
Obj = dict[str, Any]


def _route() -> Obj:
    route: Obj = yaml.safe_load(GOLDEN_ROUTE.read_text())
    return route


def _rules(schema: Obj) -> list[str]:
    found = [v["rule"] for v in schema.get("x-kubernetes-validations", [])]
    for sub in schema.get("properties", {}).values():
        found += _rules(sub)
    if isinstance(schema.get("items"), dict):
        found += _rules(schema["items"])
    return found


def test_all_89_rules_compile() -> None:
    rules = _rules(crd_schema("gateway.networking.k8s.io/v1", "HTTPRoute"))
    assert len(rules) == 89
    for rule in rules:
        crd_cel._program(rule)  # raises on a rule the engine cannot compile


def test_rendered_routes_pass(scenarios: dict[str, Any]) -> None:
    assert cel_problems(_route()) == []
    cfg, work = scenarios["gateway-proxy-gpu"]
    (route,) = [o for o in plan_webservice("svc-gw", cfg, work) if o["kind"] == "HTTPRoute"]
    assert cel_problems(route) == []


def _mirror_percent_and_fraction(route: Obj) -> None:
    route["spec"]["rules"][4]["filters"][0]["requestMirror"]["fraction"] = {"numerator": 1}


def _relative_path(route: Obj) -> None:
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "api/v1"


def _replace_prefix_on_exact(route: Obj) -> None:
    route["spec"]["rules"][2]["matches"][0]["path"]["type"] = "Exact"


def _repeated_url_rewrite(route: Obj) -> None:
    filters = route["spec"]["rules"][3]["filters"]
    filters.append(copy.deepcopy(filters[0]))


def _too_many_matches(route: Obj) -> None:
    rules = route["spec"]["rules"][:3]
    for rule in rules:  # 3 x 43 = 129 matches; each rule stays within its own 64
        rule["matches"] = [copy.deepcopy(rule["matches"][0]) for _ in range(43)]
    route["spec"]["rules"] = rules


def _numerator_above_denominator(route: Obj) -> None:
    mirror = route["spec"]["rules"][4]["filters"][0]["requestMirror"]
    del mirror["percent"]
    mirror["fraction"] = {"numerator": 150}  # denominator defaults to 100


def _duplicate_parent(route: Obj) -> None:
    route["spec"]["parentRefs"].append(copy.deepcopy(route["spec"]["parentRefs"][0]))


@pytest.mark.parametrize(
    ("break_route", "expected"),
    [
        (_mirror_percent_and_fraction, "Only one of percent or fraction"),
        (_relative_path, "must be an absolute path"),
        (_replace_prefix_on_exact, "exactly one PathPrefix match"),
        (_repeated_url_rewrite, "URLRewrite filter cannot be repeated"),
        (_too_many_matches, "total number of matches across all rules in a route must be less"),
        (_numerator_above_denominator, "numerator must be less than or equal to denominator"),
        (_duplicate_parent, "sectionName must be unique when parentRefs includes"),
    ],
)
def test_broken_routes_are_caught(break_route: Any, expected: str) -> None:
    route = _route()
    break_route(route)
    problems = cel_problems(route)
    assert any(expected in p for p in problems), problems


def test_defaults_are_applied_first(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = crd_schema("gateway.networking.k8s.io/v1", "HTTPRoute")
    route = apply_defaults(schema, _route())
    backend = route["spec"]["rules"][0]["backendRefs"][0]
    assert backend["group"] == "" and backend["weight"] == 1
    # without the API server's defaulting a valid route fails (evaluation errors on absent
    # defaulted fields): the harness would reject what the cluster accepts
    valid = _route()
    mirror = valid["spec"]["rules"][4]["filters"][0]["requestMirror"]
    del mirror["percent"]
    mirror["fraction"] = {"numerator": 5}
    assert cel_problems(valid) == []
    monkeypatch.setattr(crd_cel, "apply_defaults", lambda schema, value: value)
    assert cel_problems(valid) != []


def test_escaping_matches_the_api_server() -> None:
    assert escape_property("namespace") == "__namespace__"
    assert escape_property("x-y.z/w") == "x__dash__y__dot__z__slash__w"
    assert escape_property("a__b") == "a__underscores__b"
    assert escape_property("name") == "name"
    assert escape_property("1abc") is None


def test_evaluation_error_is_a_violation() -> None:
    passed, why = crd_cel._passes("self.missing == 1", {})
    assert not passed and "evaluation error" in why
    assert crd_cel._passes("'x'", {})[0] is False  # a non-bool result fails too
    assert crd_cel._passes("self.a == 1", {"a": 1}) == (True, "")


def test_keda_scaled_object_min_above_max_is_caught(scenarios: dict[str, Any]) -> None:
    cfg, work = scenarios["load-balancer-keda"]
    objs = plan_webservice("svc-keda", cfg, work)
    (scaled,) = [o for o in objs if o["kind"] == "ScaledObject"]
    assert cel_problems(scaled) == []
    broken = copy.deepcopy(scaled)
    broken["spec"]["minReplicaCount"], broken["spec"]["maxReplicaCount"] = 5, 2
    assert any(
        "minReplicaCount must be less than or equal to maxReplicaCount" in p
        for p in cel_problems(broken)
    )


def test_other_kinds_have_no_cel_rules() -> None:
    assert cel_problems({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}) == []
