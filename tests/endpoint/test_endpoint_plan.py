"""The pure endpoint plan: objects, routing, weights, validation, schema and PSS checks."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from endpoint_helpers import ab_args
from hypothesis import given, settings
from hypothesis import strategies as st

from aksml import contract
from aksml.errors import WebserviceException
from aksml.plan.admission import deploy_problems
from aksml.plan.checks import consistency_problems, pod_security_problems
from aksml.plan.endpoint import (
    PIN_HEADER,
    endpoint_input_from_args,
    endpoint_serialized,
    endpoint_uris,
    plan_endpoint,
    route_weights,
)
from aksml.v1 import resolve_traffic
from conftest import validate_object
from startable import SCRIPT_ARGS

Objs = list[dict[str, Any]]


def plan(args: dict[str, Any], name: str = "abtest") -> Objs:
    return plan_endpoint(endpoint_input_from_args(name, args))


def by_kind(objs: Objs, kind: str) -> Objs:
    return [o for o in objs if o["kind"] == kind]


def route(objs: Objs) -> dict[str, Any]:
    (found,) = by_kind(objs, "HTTPRoute")
    return found


def split_rule(objs: Objs) -> dict[str, Any]:
    rules = route(objs)["spec"]["rules"]
    return next(r for r in rules if "weight" in r["backendRefs"][0])


def test_gateway_objects_exact() -> None:
    objs = plan(ab_args())
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("Secret", "abtest-keys"),
        ("Deployment", "abtest-blue"),
        ("Service", "abtest-blue"),
        ("HorizontalPodAutoscaler", "abtest-blue"),
        ("PodDisruptionBudget", "abtest-blue"),
        ("NetworkPolicy", "abtest-blue"),
        ("Deployment", "abtest-green"),
        ("Service", "abtest-green"),
        ("HorizontalPodAutoscaler", "abtest-green"),
        ("PodDisruptionBudget", "abtest-green"),
        ("NetworkPolicy", "abtest-green"),
        ("HTTPRoute", "abtest"),
    ]


def test_every_object_is_schema_valid_and_restricted() -> None:
    objs = plan(ab_args(mirror_to="green", mirror_percent=25))
    for obj in objs:
        validate_object(obj)
    assert pod_security_problems(objs) == []
    assert consistency_problems(objs) == []


def test_versions_share_one_keys_secret_and_serve_the_endpoint_path() -> None:
    objs = plan(ab_args())
    for deployment in by_kind(objs, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        keys = next(v for v in pod["volumes"] if v["name"] == "keys")
        assert keys["secret"]["secretName"] == "abtest-keys"
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        # the runtime serves /api/v1/service/<SERVICE_NAME>/score: the endpoint's path
        assert env[contract.SERVICE_NAME.env] == "abtest"
    assert [s["metadata"]["name"] for s in by_kind(objs, "Secret")] == ["abtest-keys"]


def test_split_pin_and_version_rules() -> None:
    objs = plan(ab_args())
    rules = route(objs)["spec"]["rules"]
    assert split_rule(objs)["backendRefs"] == [
        {"kind": "Service", "name": "abtest-blue", "port": 80, "weight": 90},
        {"kind": "Service", "name": "abtest-green", "port": 80, "weight": 10},
    ]
    pins = [r for r in rules if "headers" in r["matches"][0]]
    assert [
        (r["matches"][0]["headers"][0]["value"], r["backendRefs"][0]["name"]) for r in pins
    ] == [("blue", "abtest-blue"), ("green", "abtest-green")]
    assert all(r["matches"][0]["headers"][0]["name"] == PIN_HEADER for r in pins)
    paths = [r for r in rules if r.get("filters", [{}])[0].get("type") == "URLRewrite"]
    assert [r["matches"][0]["path"]["value"] for r in paths] == [
        "/api/v1/service/abtest/versions/blue",
        "/api/v1/service/abtest/versions/green",
    ]
    assert all(
        r["filters"][0]["urlRewrite"]["path"]["replacePrefixMatch"] == "/api/v1/service/abtest"
        for r in paths
    )


def test_mirror_filter() -> None:
    rule = split_rule(plan(ab_args(mirror_to="green", mirror_percent=5)))
    assert rule["filters"] == [
        {
            "type": "RequestMirror",
            "requestMirror": {"backendRef": {"name": "abtest-green", "port": 80}, "percent": 5},
        }
    ]
    with pytest.raises(WebserviceException, match="not a version"):
        plan(ab_args(mirror_to="red"))
    with pytest.raises(WebserviceException, match="needs exposure 'gateway'"):
        plan(ab_args(exposure="ingress", gateway=None, mirror_to="green"))


def test_traffic_change_only_changes_the_route() -> None:
    before = plan(ab_args())
    args = ab_args()
    args["versions"][1]["traffic_percentile"] = 40
    after = plan(args)
    assert [o for o in before if o["kind"] != "HTTPRoute"] == [
        o for o in after if o["kind"] != "HTTPRoute"
    ]
    assert route(before) != route(after)
    assert [b["weight"] for b in split_rule(after)["backendRefs"]] == [60, 40]


def test_zero_percent_version_is_deployed_and_pinnable() -> None:
    args = ab_args()
    args["versions"][1]["traffic_percentile"] = 0
    objs = plan(args)
    assert [d["metadata"]["name"] for d in by_kind(objs, "Deployment")] == [
        "abtest-blue",
        "abtest-green",
    ]
    assert [b["weight"] for b in split_rule(objs)["backendRefs"]] == [100, 0]


def test_ingress_canary() -> None:
    objs = plan(ab_args(exposure="ingress", gateway=None, ingress={"class_name": "nginx"}))
    main, canary = by_kind(objs, "Ingress")
    assert main["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == (
        "abtest-blue"
    )
    assert "annotations" not in main["metadata"]
    assert canary["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-by-header": PIN_HEADER,
        "nginx.ingress.kubernetes.io/canary-by-header-value": "green",
        "nginx.ingress.kubernetes.io/canary-weight": "10",
    }
    for obj in objs:
        validate_object(obj)
    three = ab_args(exposure="ingress", gateway=None)
    three["versions"].append({"version_name": "red", "traffic_percentile": 5})
    with pytest.raises(WebserviceException, match=r"at most two versions.*'gateway'"):
        plan(three)


@pytest.mark.parametrize("exposure", ["cluster", "load_balancer"])
def test_service_exposures_refuse_a_split(exposure: str) -> None:
    with pytest.raises(WebserviceException, match=r"cannot split traffic.*evenly"):
        plan(ab_args(exposure=exposure, gateway=None))
    args = ab_args(exposure=exposure, gateway=None)
    args["versions"][1]["traffic_percentile"] = 0
    objs = plan(args)
    endpoint_service = next(
        o for o in by_kind(objs, "Service") if o["metadata"]["name"] == "abtest"
    )
    assert endpoint_service["spec"]["selector"]["app.kubernetes.io/instance"] == "abtest-blue"
    expected = "LoadBalancer" if exposure == "load_balancer" else "ClusterIP"
    assert endpoint_service["spec"]["type"] == expected
    assert all(
        o["spec"]["type"] == "ClusterIP"
        for o in by_kind(objs, "Service")
        if o["metadata"]["name"] != "abtest"
    )


def test_validation_messages() -> None:
    args = ab_args()
    args["versions"][1]["traffic_percentile"] = 150
    with pytest.raises(WebserviceException, match="traffic_percentile cannot be negative"):
        plan(args)
    args = ab_args()
    args["versions"][1]["is_default"] = True
    with pytest.raises(WebserviceException, match="more than one default"):
        plan(args)
    args = ab_args()
    args["versions"][1]["auth_enabled"] = False
    with pytest.raises(WebserviceException, match="endpoint-level"):
        plan(args)
    with pytest.raises(WebserviceException, match="longer than 32"):
        plan(ab_args(), name="a-rather-long-endpoint-name")
    with pytest.raises(WebserviceException, match="at least one version"):
        plan(ab_args(versions=[]))


def test_uris_and_serialize() -> None:
    data = endpoint_input_from_args("abtest", ab_args(description="ab", tags={"team": "ml"}))
    scoring, swagger, versions = endpoint_uris(data, None)
    assert scoring == "http://ml.example.com/api/v1/service/abtest/score"
    assert swagger == "http://ml.example.com/api/v1/service/abtest/swagger.json"
    assert versions["green"]["scoring_uri"] == (
        "http://ml.example.com/api/v1/service/abtest/versions/green/score"
    )
    doc = endpoint_serialized(data, scoring, versions)
    assert doc["computeType"] == "AKSENDPOINT" and doc["scoringUri"] == scoring
    assert doc["description"] == "ab" and doc["tags"] == {"team": "ml"}
    green = doc["versions"]["green"]
    assert green["computeType"] == "AKS"
    assert (green["isDefault"], green["trafficPercentile"], green["versionType"]) == (
        False,
        10.0,
        "Treatment",
    )
    assert doc["versions"]["blue"]["trafficPercentile"] == 90.0


def test_route_weights_decimals() -> None:
    weights, total = route_weights({"a": 33.33, "b": 33.33, "c": 33.34})
    assert total == 10000 and weights == {"a": 3333, "b": 3333, "c": 3334}
    weights, total = route_weights({"a": 100 / 3, "b": 100 / 3, "c": 100 / 3})
    assert sum(weights.values()) == total == 10000


_names = st.lists(
    st.from_regex(r"[a-z][a-z0-9]{2,8}", fullmatch=True), min_size=1, max_size=6, unique=True
)


@settings(max_examples=40, deadline=None)
@given(names=_names, data=st.data())
def test_weights_always_sum_to_100(names: list[str], data: st.DataObject) -> None:
    versions: list[dict[str, Any]] = []
    budget = 100.0
    for index, name in enumerate(names):
        entry: dict[str, Any] = {"version_name": name}
        if index > 0:
            share = data.draw(
                st.one_of(
                    st.integers(0, int(budget)).map(float),
                    st.floats(0, budget, allow_nan=False).map(lambda x: round(x, 2)),
                )
            )
            share = min(share, budget)
            budget -= share
            entry["traffic_percentile"] = share
        versions.append(entry)
    objs = plan(ab_args(versions=[{**SCRIPT_ARGS, **v} for v in versions]), name="epx")
    weights = [b["weight"] for b in split_rule(objs)["backendRefs"]]
    total = sum(weights)
    assert total in (100, 10000)
    assert all(w >= 0 for w in weights)
    shares = resolve_traffic(versions)
    for weight, share in zip(weights, shares.values(), strict=True):
        assert abs(weight * 100 / total - share) <= 0.01 + 1e-9
    validate_object(copy.deepcopy(route(objs)))
    assert deploy_problems(objs) == []  # API-server rules and the HTTPRoute CEL rules


def test_versions_are_planned_as_services_not_patched() -> None:
    """Each version is exactly ``plan_webservice`` of ``<endpoint>-<version>`` with the
    endpoint's served name, keys Secret and labels, and no exposure of its own."""
    from aksml.plan.endpoint import ENDPOINT_LABEL, VERSION_LABEL
    from aksml.plan.webservice import ServiceOptions, plan_webservice

    data = endpoint_input_from_args("abtest", ab_args(exposure="ingress", gateway=None))
    objs = plan_endpoint(data)
    for version in data.versions:
        vname = version.spec.version_name
        options = ServiceOptions(
            served_name="abtest",
            keys_secret="abtest-keys",
            exposed=False,
            labels={ENDPOINT_LABEL: "abtest", VERSION_LABEL: vname},
        )
        workload = version.workload.model_copy(update={"create_namespace": False})
        alone = plan_webservice(f"abtest-{vname}", version.config, workload, options)
        assert all(o in objs for o in alone)
        kinds = {o["kind"] for o in alone}
        assert "Secret" not in kinds and "Ingress" not in kinds and "HTTPRoute" not in kinds
        service = next(o for o in alone if o["kind"] == "Service")
        assert service["spec"]["type"] == "ClusterIP"
