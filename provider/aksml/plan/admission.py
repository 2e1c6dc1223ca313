"""Preview-time admission: the planned objects must pass what the cluster checks on apply.

``plan_webservice`` and ``plan_endpoint`` end here, so ``pulumi preview``, ``aksml render``
and every test that plans fail on an object the API server (``aksml.plan.apiserver``) or a
CRD's CEL rules (``aksml.plan.crd_cel``) would refuse at ``pulumi up``. Each problem names
the aksml parameter that produced the field where one does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aksml.errors import WebserviceException
from aksml.plan.apiserver import apiserver_problems
from aksml.plan.crd_cel import cel_problems

Obj = dict[str, Any]

PARAMETER_FIELDS: tuple[tuple[str, str], ...] = (
    (r"Probe\.successThreshold", "success_threshold"),
    (r"Probe\.failureThreshold", "failure_threshold"),
    (r"Probe\.periodSeconds", "period_seconds"),
    (r"Probe\.timeoutSeconds", "timeout_seconds"),
    (r"Probe\.initialDelaySeconds", "initial_delay_seconds"),
    (r"\.requests\[cpu\]", "cpu_cores"),
    (r"\.limits\[cpu\]", "cpu_cores_limit"),
    (r"\.requests\[memory\]", "memory_gb"),
    (r"\.limits\[memory\]", "memory_gb_limit"),
    (r"\[nvidia\.com/gpu\]", "gpu_cores"),
    (r"containers\[\d+\]\.env\[", "environment_variables"),
    (r"containers\[\d+\]\.image", "image"),
    (r"\.tolerations\[", "tolerations"),
    (r"\.nodeSelector\[", "node_selector"),
    (r"\.serviceAccountName", "service_account_name"),
    (r"^HorizontalPodAutoscaler/\S+ spec\.minReplicas", "autoscale_min_replicas"),
    (r"^HorizontalPodAutoscaler/\S+ spec\.maxReplicas", "autoscale_max_replicas"),
    (r"^Deployment/\S+ spec\.replicas", "num_replicas"),
    (r"metadata\.labels\[tags\.aksml\.io/", "tags"),
    (r"metadata\.namespace", "namespace"),
    (r"metadata\.name:", "name"),
    (r"^Ingress/\S+ spec\.(rules\[\d+\]\.host|tls)", "ingress host"),
    (r"^Ingress/\S+ spec\.ingressClassName", "ingress class_name"),
    (r"^HTTPRoute/\S+ \.spec\.hostnames", "gateway hostnames"),
    (r"^HTTPRoute/\S+ \.spec\.parentRefs", "gateway parent_refs"),
    (r"^HTTPRoute/\S+ .*(requestMirror|backendRefs|weight)", "traffic_percentile / shadow"),
)
"""(pattern over a problem line, the parameter that sets that field), first match wins."""

_COMPILED = tuple((re.compile(pattern), name) for pattern, name in PARAMETER_FIELDS)


def parameter_of(problem: str) -> str | None:
    """The aksml parameter behind one problem line, when the field maps to one."""
    for pattern, name in _COMPILED:
        if pattern.search(problem):
            return name
    return None


def deploy_problems(objs: Iterable[Obj]) -> list[str]:
    """Every API-server and CRD-CEL refusal for ``objs``, each with its parameter if known."""
    objs = list(objs)
    lines = apiserver_problems(objs)
    for obj in objs:
        lines += cel_problems(obj)
    out = []
    for line in lines:
        parameter = parameter_of(line)
        out.append(f"{line} (parameter {parameter})" if parameter else line)
    return out


def require_deployable(objs: list[Obj]) -> list[Obj]:
    """``objs`` unchanged, or ``WebserviceException`` listing what the cluster would refuse."""
    problems = deploy_problems(objs)
    if problems:
        listed = "\n".join(f"- {p}" for p in problems)
        raise WebserviceException(
            f"Error, the Kubernetes API server would refuse these objects:\n{listed}\n"
        )
    return objs
