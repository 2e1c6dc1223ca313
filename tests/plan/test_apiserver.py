"""The ported API-server rules (aksml.plan.apiserver, aksml.plan.apinames): every rendered
scenario passes them, and each rule catches the violation it is for (so none passes
vacuously). Upstream sources are cited in the modules."""

# ruff: noqa: E501  (the case table reads best one case per line)

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aksml.plan import plan_webservice
from aksml.plan.admission import deploy_problems, parameter_of
from aksml.plan.apinames import (
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_label_value,
    is_port_name,
    is_qualified_name,
    parse_quantity,
)
from aksml.plan.apiserver import apiserver_problems

Obj = dict[str, Any]


_RENDERED: list[Obj] = []


@pytest.fixture
def base(scenarios: dict[str, Any]) -> list[Obj]:
    """Four scenarios rendered together: every kind aksml emits for a web service."""
    if not _RENDERED:
        names = ("defaults", "ingress-tls-fixed", "gateway-proxy-gpu", "load-balancer-keda")
        for index, name in enumerate(names):
            cfg, work = scenarios[name]
            _RENDERED.extend(plan_webservice(f"svc-{index}", cfg, work))
    return copy.deepcopy(_RENDERED)


def _first(objs: list[Obj], kind: str) -> Obj:
    return next(o for o in objs if o["kind"] == kind)


def _pod(objs: list[Obj]) -> Obj:
    spec: Obj = _first(objs, "Deployment")["spec"]["template"]["spec"]
    return spec


def _runtime(objs: list[Obj]) -> Obj:
    return next(c for c in _pod(objs)["containers"] if c["name"] == "runtime")


def _set(getter: Callable[[list[Obj]], Obj], key: str, value: Any) -> Callable[[list[Obj]], None]:
    def mutate(objs: list[Obj]) -> None:
        getter(objs)[key] = value

    return mutate


def _gpu_container(objs: list[Obj]) -> Obj:
    for obj in objs:
        if obj["kind"] == "Deployment":
            for c in obj["spec"]["template"]["spec"]["containers"]:
                if "nvidia.com/gpu" in c["resources"].get("limits", {}):
                    return c
    raise AssertionError("no GPU container")


def _more_than_one_handler(objs: list[Obj]) -> None:
    _runtime(objs)["livenessProbe"]["tcpSocket"] = {"port": 5001}


def _request_above_limit(objs: list[Obj]) -> None:
    resources = _runtime(objs)["resources"]
    resources["requests"]["memory"] = "3Gi"
    resources.setdefault("limits", {})["memory"] = "2Gi"


def _gpu_request_unequal(objs: list[Obj]) -> None:
    _gpu_container(objs)["resources"]["requests"]["nvidia.com/gpu"] = "2"


def _selector_mismatch(objs: list[Obj]) -> None:
    _first(objs, "Deployment")["spec"]["template"]["metadata"]["labels"].pop(
        "app.kubernetes.io/instance"
    )


def _both_zero(objs: list[Obj]) -> None:
    _first(objs, "Deployment")["spec"]["strategy"]["rollingUpdate"] = {
        "maxSurge": 0,
        "maxUnavailable": "0%",
    }


def _hpa_inverted(objs: list[Obj]) -> None:
    spec = _first(objs, "HorizontalPodAutoscaler")["spec"]
    spec["minReplicas"], spec["maxReplicas"] = 5, 2


def _pdb_both(objs: list[Obj]) -> None:
    _first(objs, "PodDisruptionBudget")["spec"].update(minAvailable=1, maxUnavailable=1)


def _peer_both(objs: list[Obj]) -> None:
    rule = _first(objs, "NetworkPolicy")["spec"]["ingress"][0]
    rule["from"] = [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]


def _except_outside(objs: list[Obj]) -> None:
    rule = _first(objs, "NetworkPolicy")["spec"]["ingress"][0]
    rule["from"] = [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}]


def _end_port_named(objs: list[Obj]) -> None:
    rule = _first(objs, "NetworkPolicy")["spec"]["ingress"][0]
    rule["ports"] = [{"port": "http", "endPort": 6000}]


def _ingress_path(objs: list[Obj]) -> None:
    _first(objs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["path"] = "api"


def _ingress_ip_host(objs: list[Obj]) -> None:
    _first(objs, "Ingress")["spec"]["rules"][0]["host"] = "10.1.2.3"


def _ingress_port_both(objs: list[Obj]) -> None:
    backend = _first(objs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    backend["service"]["port"] = {"name": "http", "number": 80}


def _ingress_no_rules(objs: list[Obj]) -> None:
    _first(objs, "Ingress")["spec"]["rules"] = []


def _bad_configmap_key(objs: list[Obj]) -> None:
    _first(objs, "ConfigMap")["data"]["a/b"] = "x"


def _huge_configmap(objs: list[Obj]) -> None:
    _first(objs, "ConfigMap")["data"]["big"] = "x" * (1024 * 1024 + 1)


def test_base64_values_count_decoded(base: list[Obj]) -> None:
    """A ConfigMap's binaryData counts by decoded size (1 MiB of bytes is 1.33 MiB of base64)."""
    configmap = _first(base, "ConfigMap")
    configmap["binaryData"] = {"blob": base64.b64encode(b"x" * (900 * 1024)).decode()}
    assert apiserver_problems([configmap]) == []
    configmap["binaryData"] = {"blob": base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()}
    assert any("at most 1048576 bytes" in p for p in apiserver_problems([configmap]))


def _huge_annotations(objs: list[Obj]) -> None:
    _first(objs, "Deployment")["metadata"]["annotations"] = {"a": "x" * (256 * 1024)}


def _toleration_exists_value(objs: list[Obj]) -> None:
    _pod(objs)["tolerations"] = [{"key": "k", "operator": "Exists", "value": "v"}]


def _toleration_seconds(objs: list[Obj]) -> None:
    _pod(objs)["tolerations"] = [
        {"key": "k", "value": "v", "effect": "NoSchedule", "tolerationSeconds": 5}
    ]


def _volume_two_sources(objs: list[Obj]) -> None:
    _pod(objs)["volumes"][0]["configMap"] = {"name": "x"}


def _duplicate_mount_path(objs: list[Obj]) -> None:
    mounts = _runtime(objs)["volumeMounts"]
    mounts[1]["mountPath"] = mounts[0]["mountPath"]


def _env_both(objs: list[Obj]) -> None:
    _runtime(objs)["env"][0]["valueFrom"] = {"fieldRef": {"fieldPath": "metadata.name"}}


def _init_probe(objs: list[Obj]) -> None:
    init = {"name": "init", "image": "busybox", "livenessProbe": {"exec": {"command": ["true"]}}}
    _pod(objs).setdefault("initContainers", []).append(init)


CASES: list[tuple[str, Callable[[list[Obj]], None], str]] = [
    ("deployment name", _set(lambda o: _first(o, "Deployment")["metadata"], "name", "Iris"), "RFC 1123 subdomain"),
    ("service name dns-1035", _set(lambda o: _first(o, "Service")["metadata"], "name", "1svc"), "DNS-1035"),
    ("namespace name", _set(lambda o: _first(o, "Namespace")["metadata"], "name", "a.b"), "RFC 1123 label"),
    ("object namespace", _set(lambda o: _first(o, "Secret")["metadata"], "namespace", "A"), "metadata.namespace"),
    ("label key", lambda o: _first(o, "Service")["metadata"]["labels"].update({"a/b/c": "x"}), "qualified name"),
    ("label value", lambda o: _first(o, "Service")["metadata"]["labels"].update({"k": "x" * 64}), "no more than 63"),
    ("annotation key", lambda o: _first(o, "Service")["metadata"].update(annotations={"-bad": "1"}), "metadata.annotations[-bad]"),
    ("annotation size", _huge_annotations, "at most 262144 bytes"),
    ("container name", _set(_runtime, "name", "Runtime"), "containers[0].name"),
    ("image whitespace", _set(_runtime, "image", " img"), "leading or trailing whitespace"),
    ("port name length", lambda o: _runtime(o)["ports"][0].update(name="a-very-long-port-name"), "no more than 15"),
    ("port name letter", lambda o: _runtime(o)["ports"][0].update(name="5001"), "at least one letter"),
    ("port name hyphens", lambda o: _runtime(o)["ports"][0].update(name="a--b"), "consecutive hyphens"),
    ("container port", lambda o: _runtime(o)["ports"][0].update(containerPort=70000), "between 1 and 65535"),
    ("env var name", lambda o: _runtime(o)["env"].append({"name": "1BAD", "value": "x"}), "environment variable name"),
    ("env value and valueFrom", _env_both, "may not be specified when `value` is not empty"),
    ("quantity syntax", lambda o: _runtime(o)["resources"]["requests"].update(cpu="1 core"), "quantities must match"),
    ("negative quantity", lambda o: _runtime(o)["resources"]["requests"].update(cpu="-1"), "must be >= 0"),
    ("requests <= limits", _request_above_limit, "must be less than or equal to memory limit"),
    ("gpu request == limit", _gpu_request_unequal, "must be equal to nvidia.com/gpu limit"),
    ("liveness successThreshold", lambda o: _runtime(o)["livenessProbe"].update(successThreshold=2), "livenessProbe.successThreshold: Invalid value: 2: must be 1"),
    ("startup successThreshold", lambda o: _runtime(o).update(startupProbe={"httpGet": {"path": "/", "port": 5001}, "successThreshold": 3}), "startupProbe.successThreshold"),
    ("negative periodSeconds", lambda o: _runtime(o)["readinessProbe"].update(periodSeconds=-1), "readinessProbe.periodSeconds"),
    ("probe handlers", _more_than_one_handler, "exactly one handler"),
    ("probe port name", lambda o: _runtime(o)["readinessProbe"]["httpGet"].update(port="Http"), "readinessProbe.httpGet.port"),
    ("probe on init container", _init_probe, "may not be set for init containers"),
    ("volume name", lambda o: _pod(o)["volumes"][0].update(name="Tmp"), "volumes[0].name"),
    ("volume sources", _volume_two_sources, "exactly one volume type"),
    ("mount without volume", lambda o: _runtime(o)["volumeMounts"][0].update(name="nope"), "Not found"),
    ("duplicate mountPath", _duplicate_mount_path, "must be unique"),
    ("toleration Exists with value", _toleration_exists_value, "value must be empty"),
    ("tolerationSeconds without NoExecute", _toleration_seconds, "must be 'NoExecute'"),
    ("node selector value", lambda o: _pod(o).update(nodeSelector={"pool": "a b"}), "nodeSelector[pool]"),
    ("service account name", lambda o: _pod(o).update(serviceAccountName="SA"), "serviceAccountName"),
    ("priority class name", lambda o: _pod(o).update(priorityClassName="High_Priority"), "priorityClassName"),
    ("selector matches template labels", _selector_mismatch, "`selector` does not match template `labels`"),
    ("maxSurge and maxUnavailable both 0", _both_zero, "may not be 0 when `maxSurge` is 0"),
    ("maxSurge percent", lambda o: _first(o, "Deployment")["spec"]["strategy"]["rollingUpdate"].update(maxSurge="150%"), "greater than 100%"),
    ("negative replicas", lambda o: _first(o, "Deployment")["spec"].update(replicas=-1), "spec.replicas"),
    ("service port name", lambda o: _first(o, "Service")["spec"]["ports"][0].update(name="HTTP"), "spec.ports[0].name"),
    ("service targetPort", lambda o: _first(o, "Service")["spec"]["ports"][0].update(targetPort="http_1"), "spec.ports[0].targetPort"),
    ("service port", lambda o: _first(o, "Service")["spec"]["ports"][0].update(port=0), "spec.ports[0].port"),
    ("hpa min <= max", _hpa_inverted, "must be greater than or equal to `minReplicas`"),
    ("hpa min >= 1", lambda o: _first(o, "HorizontalPodAutoscaler")["spec"].update(minReplicas=0), "spec.minReplicas"),
    ("hpa utilization", lambda o: _first(o, "HorizontalPodAutoscaler")["spec"]["metrics"][0]["resource"]["target"].update(averageUtilization=0), "averageUtilization"),
    ("hpa stabilization window", lambda o: _first(o, "HorizontalPodAutoscaler")["spec"].update(behavior={"scaleDown": {"stabilizationWindowSeconds": 4000}}), "3600"),
    ("hpa policy period", lambda o: _first(o, "HorizontalPodAutoscaler")["spec"].update(behavior={"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 0}]}}), "1800"),
    ("pdb both fields", _pdb_both, "cannot be both set"),
    ("pdb percent", lambda o: _first(o, "PodDisruptionBudget")["spec"].update(maxUnavailable="200%"), "greater than 100%"),
    ("pdb eviction policy", lambda o: _first(o, "PodDisruptionBudget")["spec"].update(unhealthyPodEvictionPolicy="Never"), "unhealthyPodEvictionPolicy"),
    ("selector expression values", lambda o: _first(o, "PodDisruptionBudget")["spec"]["selector"].update(matchExpressions=[{"key": "a", "operator": "In"}]), "must be specified when `operator` is 'In'"),
    ("networkpolicy peer both", _peer_both, "may not specify both ipBlock"),
    ("networkpolicy except outside cidr", _except_outside, "strict subset"),
    ("networkpolicy endPort on named port", _end_port_named, "endPort"),
    ("networkpolicy policyTypes", lambda o: _first(o, "NetworkPolicy")["spec"].update(policyTypes=["Both"]), "policyTypes[0]"),
    ("ingress relative path", _ingress_path, "must be an absolute path"),
    ("ingress IP host", _ingress_ip_host, "not an IP address"),
    ("ingress port name and number", _ingress_port_both, "exactly one of `name` or `number`"),
    ("ingress neither rules nor default", _ingress_no_rules, "either `defaultBackend` or `rules`"),
    ("ingress class name", lambda o: _first(o, "Ingress")["spec"].update(ingressClassName="Nginx"), "ingressClassName"),
    ("configmap key", _bad_configmap_key, "data[a/b]"),
    ("configmap size", _huge_configmap, "at most 1048576 bytes"),
]  # fmt: skip


def test_every_rendered_scenario_passes(base: list[Obj]) -> None:
    assert {o["kind"] for o in base} >= {"Deployment", "Service", "Ingress", "HTTPRoute"}
    assert apiserver_problems(base) == []


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_catches_its_violation(
    base: list[Obj], mutate: Callable[[list[Obj]], None], expected: str
) -> None:
    objs = base
    mutate(objs)
    problems = apiserver_problems(objs)
    assert any(expected in p for p in problems), problems


def test_problems_name_the_parameter(base: list[Obj]) -> None:
    objs = base
    _runtime(objs)["livenessProbe"]["successThreshold"] = 2
    _request_above_limit(objs)
    problems = deploy_problems(objs)
    assert any(p.endswith("(parameter success_threshold)") for p in problems), problems
    assert any(p.endswith("(parameter memory_gb)") for p in problems), problems
    assert parameter_of("Deployment/x spec.template.spec.containers[0].env[3].name: bad") == (
        "environment_variables"
    )


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        (is_dns1123_label, ["a", "a-1", "x" * 63], ["A", "-a", "a-", "a.b", "x" * 64, ""]),
        (is_dns1123_subdomain, ["a.b-c", "x" * 253], ["a..b", "A.b", "x" * 254, "a_b"]),
        (is_dns1035_label, ["a1", "svc-x"], ["1a", "a-", "x" * 64]),
        (is_qualified_name, ["a", "app.kubernetes.io/name", "A_b.c"], ["a/b/c", "/a", "a/", "-a", "x" * 64]),
        (is_label_value, ["", "a", "A-b_c.d"], ["-a", "a b", "x" * 64]),
        (is_port_name, ["http", "h2c", "a-b"], ["HTTP", "a--b", "-a", "123", "x" * 16]),
        (is_env_var_name, ["A", "_a", "a.b-c"], ["1A", "A B", "A=B", ""]),
        (is_config_map_key, ["a.b", "_x", "a-b"], [".", "..", "..a", "a/b", "x" * 254]),
    ],
)  # fmt: skip
def test_string_rules(rule: Callable[[str], list[str]], good: list[str], bad: list[str]) -> None:
    assert [v for v in good if rule(v)] == []
    assert [v for v in bad if not rule(v)] == []


def test_quantities() -> None:
    assert parse_quantity("500m") == parse_quantity("0.5")
    assert parse_quantity("1Gi") == 1024**3
    assert parse_quantity("1e3") == parse_quantity("1k") == 1000
    assert parse_quantity(2) == 2
    for bad in ("1 core", "1.5.2", "Gi", "1gb", "", True, None):
        assert parse_quantity(bad) is None, bad


GOLDEN_DIRS = sorted(
    {p.parent for p in (Path(__file__).resolve().parents[1]).glob("**/golden*/**/*.yaml")}
)


@pytest.mark.parametrize("directory", GOLDEN_DIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_golden_render_is_admissible(directory: Path) -> None:
    """API-server rules and CRD CEL rules over every checked-in golden render."""
    objs = [yaml.safe_load(p.read_text()) for p in sorted(directory.glob("*.yaml"))]
    assert objs
    assert deploy_problems(objs) == []
