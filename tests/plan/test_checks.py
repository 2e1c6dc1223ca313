"""The rendered set passes the restricted Pod Security Standard and is internally consistent;
each check also catches the mistake it is for (so it cannot pass vacuously)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from aksml.plan import WorkloadSettings, plan_webservice
from aksml.plan.checks import consistency_problems, pod_security_problems
from startable import scripted

Objs = list[dict[str, Any]]


def _deployment(objs: Objs) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == "Deployment")


def _pod(objs: Objs) -> dict[str, Any]:
    spec: dict[str, Any] = _deployment(objs)["spec"]["template"]["spec"]
    return spec


def test_restricted_pod_security(scenario: tuple[str, Objs, WorkloadSettings]) -> None:
    _, objs, _ = scenario
    assert pod_security_problems(objs) == []
    assert all(
        c["securityContext"]["readOnlyRootFilesystem"] is True
        for c in _pod(objs)["containers"] + _pod(objs).get("initContainers", [])
    )


def test_internally_consistent(scenario: tuple[str, Objs, WorkloadSettings]) -> None:
    _, objs, work = scenario
    assert consistency_problems(objs, user_env=work.environment_variables) == []


def _break_privilege(objs: Objs) -> None:
    _pod(objs)["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True


def _break_caps(objs: Objs) -> None:
    _pod(objs)["containers"][0]["securityContext"]["capabilities"] = {"add": ["SYS_ADMIN"]}


def _break_root(objs: Objs) -> None:
    pod = _pod(objs)
    pod["securityContext"].pop("runAsNonRoot")
    pod["containers"][0]["securityContext"].pop("runAsNonRoot")


def _break_hostpath(objs: Objs) -> None:
    _pod(objs)["volumes"].append({"name": "h", "hostPath": {"path": "/"}})


def _break_seccomp(objs: Objs) -> None:
    pod = _pod(objs)
    pod["securityContext"].pop("seccompProfile")
    pod["containers"][0]["securityContext"].pop("seccompProfile")


@pytest.mark.parametrize(
    "breaker", [_break_privilege, _break_caps, _break_root, _break_hostpath, _break_seccomp]
)
def test_pod_security_check_catches(breaker: Callable[[Objs], None], config: Any) -> None:
    objs = plan_webservice("abc", config(), scripted())
    breaker(objs)
    assert pod_security_problems(objs)


def _break_selector(objs: Objs) -> None:
    next(o for o in objs if o["kind"] == "Service")["spec"]["selector"]["extra"] = "x"


def _break_target_port(objs: Objs) -> None:
    next(o for o in objs if o["kind"] == "Service")["spec"]["ports"][0]["targetPort"] = "nope"


def _break_probe_port(objs: Objs) -> None:
    _pod(objs)["containers"][0]["livenessProbe"]["httpGet"]["port"] = 1234


def _break_scale_target(objs: Objs) -> None:
    next(o for o in objs if o["kind"] == "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"][
        "name"
    ] = "other"


def _break_volume(objs: Objs) -> None:
    _pod(objs)["volumes"] = [v for v in _pod(objs)["volumes"] if v["name"] != "tmp"]


def _break_secret_ref(objs: Objs) -> None:
    objs[:] = [o for o in objs if o["kind"] != "Secret"]


def _break_env(objs: Objs) -> None:
    _pod(objs)["containers"][0]["env"].append({"name": "AKSML_NOT_A_SETTING", "value": "1"})


def _break_flag(objs: Objs) -> None:
    _pod(objs)["containers"][0]["command"].append("--not-a-flag")


def _break_network(objs: Objs) -> None:
    policy = next(o for o in objs if o["kind"] == "NetworkPolicy")
    policy["spec"]["ingress"] = policy["spec"]["ingress"][1:]


def _break_pdb(objs: Objs) -> None:
    pdb = next(o for o in objs if o["kind"] == "PodDisruptionBudget")
    pdb["spec"]["selector"]["matchLabels"] = {"app": "other"}


@pytest.mark.parametrize(
    "breaker",
    [
        _break_selector,
        _break_target_port,
        _break_probe_port,
        _break_scale_target,
        _break_volume,
        _break_secret_ref,
        _break_env,
        _break_flag,
        _break_network,
        _break_pdb,
    ],
)
def test_consistency_check_catches(breaker: Callable[[Objs], None], config: Any) -> None:
    objs = plan_webservice("abc", config(), scripted())
    assert consistency_problems(copy.deepcopy(objs)) == []
    breaker(objs)
    assert consistency_problems(objs)


@pytest.mark.parametrize(
    "scenario_id", ["load-balancer-keda", "ingress-tls-fixed", "gateway-proxy-gpu"]
)
def test_network_policy_must_admit_the_exposure(
    scenario_id: str, scenarios: dict[str, Any]
) -> None:
    """Dropping the exposure's rule (keeping only same-namespace access) is reported."""
    cfg, work = scenarios[scenario_id]
    objs = plan_webservice("abc", cfg, work)
    policy = next(o for o in objs if o["kind"] == "NetworkPolicy")
    policy["spec"]["ingress"][0]["from"] = [{"podSelector": {}}]
    assert any(
        "does not admit" in p for p in consistency_problems(objs, work.environment_variables)
    )
