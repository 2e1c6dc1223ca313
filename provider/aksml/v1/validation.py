"""azureml-core 1.61's validation, message for message, plus aksml's beyond-v1 phases.

Every function here takes plain values (already type-checked by phase 1) and returns the
accumulated message text ("" = valid); the caller raises ``WebserviceException``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from aksml.v1.names import NAMESPACE_MESSAGE, NAMESPACE_REGEX, SERVICE_NAME_MESSAGE
from aksml.v1.names import is_valid_service_name as _valid_name
from aksml.v1.params import BY_NAME, Kind

_INVALID = "Invalid configuration, "

TRAFFIC_MESSAGE = (
    "Invalid configuration, traffic_percentile cannot be negative or greater than 100.\n"
)
"""v1's traffic check (aks.py:L3015-3016), with its newline."""

_POSITIVE_PROBE_AND_SERVING = (
    "period_seconds",
    "initial_delay_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
)
_AUTOSCALE_KNOBS = (
    "autoscale_min_replicas",
    "autoscale_max_replicas",
    "autoscale_refresh_seconds",
    "autoscale_target_utilization",
)


def v1_service_messages(v: Mapping[str, Any], prefix: str = _INVALID) -> str:
    """``AksServiceDeploymentConfiguration.validate_configuration`` (aks.py:L2552-2621).

    Same checks, same order, same text; each message ends in ``\\n``. ``v`` maps parameter
    names to values (missing = None).
    """

    def g(name: str) -> Any:
        return v.get(name)

    e = ""
    if g("cpu_cores") is not None and g("cpu_cores") <= 0:
        e += f"{prefix}cpu_cores must be greater than zero.\n"
    if (
        g("cpu_cores") is not None
        and g("cpu_cores_limit") is not None
        and g("cpu_cores_limit") < g("cpu_cores")
    ):
        e += f"{prefix}cpu_cores_limit must be greater than or equal to cpu_cores.\n"
    if g("memory_gb") is not None and g("memory_gb") <= 0:
        e += f"{prefix}memory_gb must be greater than zero.\n"
    if (
        g("memory_gb") is not None
        and g("memory_gb_limit") is not None
        and g("memory_gb_limit") < g("memory_gb")
    ):
        e += f"{prefix}memory_gb_limit must be greater than or equal to memory_gb.\n"
    if g("gpu_cores") is not None and g("gpu_cores") < 0:
        e += f"{prefix}gpu_cores must be greater than or equal to zero.\n"
    for name in _POSITIVE_PROBE_AND_SERVING:
        if g(name) is not None and g(name) <= 0:
            e += f"{prefix}{name} must be greater than zero.\n"
    if g("namespace") and not re.match(NAMESPACE_REGEX, g("namespace")):
        e += f"{prefix}{NAMESPACE_MESSAGE}\n"
    for name in (
        "scoring_timeout_ms",
        "replica_max_concurrent_requests",
        "max_request_wait_time",
        "num_replicas",
    ):
        if g(name) is not None and g(name) <= 0:
            e += f"{prefix}{name} must be greater than zero.\n"
    e += _autoscale_messages(v, prefix)
    if g("token_auth_enabled") and g("auth_enabled"):
        e += f"{prefix}auth_enabled and token_auth_enabled cannot both be true.\n"
    return e


def _autoscale_messages(v: Mapping[str, Any], prefix: str) -> str:
    """The autoscale block shared by deploy-time and update-time validation (same text)."""

    def g(name: str) -> Any:
        return v.get(name)

    e = ""
    if g("autoscale_enabled"):
        if g("num_replicas"):
            e += f"{prefix}autoscale enabled and num_replicas provided.\n"
        for name in ("autoscale_min_replicas", "autoscale_max_replicas"):
            if g(name) is not None and g(name) <= 0:
                e += f"{prefix}{name} must be greater than zero.\n"
        low, high = g("autoscale_min_replicas"), g("autoscale_max_replicas")
        if low and high and low > high:
            e += f"{prefix}autoscale_min_replicas cannot be greater than autoscale_max_replicas.\n"
        for name in ("autoscale_refresh_seconds", "autoscale_target_utilization"):
            if g(name) is not None and g(name) <= 0:
                e += f"{prefix}{name} must be greater than zero.\n"
    else:
        if g("autoscale_enabled") is False and not g("num_replicas"):
            e += f"{prefix}autoscale disabled but num_replicas not provided.\n"
        for name in _AUTOSCALE_KNOBS:
            if g(name):
                e += f"{prefix}{name} provided without enabling autoscaling.\n"
    return e


def v1_endpoint_messages(v: Mapping[str, Any]) -> str:
    """``AksEndpointDeploymentConfiguration``: the service checks, then
    ``validate_endpoint_configuration``.

    v1 raised the service checks' text on its own (constructor of the superclass), then the
    version-name error on its own (no trailing newline), then the traffic check (aks.py:L3005-3019).
    """
    base = v1_service_messages(v)
    if base:
        return base
    name = v.get("version_name")
    if name and not _valid_name(name):
        return SERVICE_NAME_MESSAGE
    traffic = v.get("traffic_percentile")
    if traffic and (traffic < 0 or traffic > 100):
        return TRAFFIC_MESSAGE
    return ""


def kubernetes_messages(v: Mapping[str, Any], kinds: Mapping[str, Kind]) -> str:
    """Phase 3 (beyond v1): values azureml-core accepted but a Kubernetes cluster would reject.

    Runs only when the v1 checks passed, so v1-rejected inputs keep v1's exact text.
    """
    e = ""
    for name, kind in kinds.items():
        value = v.get(name)
        if kind is Kind.FLOAT and value is not None and not math.isfinite(value):
            e += f"{_INVALID}{name} must be a finite number, got {value!r}.\n"
    for name in ("cpu_cores_limit", "memory_gb_limit"):
        value = v.get(name)
        if value is not None and math.isfinite(value) and value <= 0:
            e += f"{_INVALID}{name} must be greater than zero.\n"
    for name in kinds:
        most, value = BY_NAME[name].maximum, v.get(name)
        if most is not None and value is not None and value > most:
            e += (
                f"{_INVALID}{name} must be at most {most} ({BY_NAME[name].maximum_reason}), "
                f"got {value!r}.\n"
            )
    namespace = v.get("namespace")
    if namespace == "":
        e += f"{_INVALID}namespace must not be empty; leave it unset for the default namespace.\n"
    elif namespace is not None and re.fullmatch(NAMESPACE_REGEX, namespace) is None:
        # v1 used re.match, whose "$" also matches before a trailing newline
        e += f"{_INVALID}{NAMESPACE_MESSAGE}\n"
    if "version_name" in kinds and v.get("version_name") == "":
        e += f"{_INVALID}version_name must not be empty; leave it unset to use the endpoint name.\n"
    return e


def v1_update_messages(
    v: Mapping[str, Any],
    *,
    existing_cpu: float | None,
    existing_cpu_limit: float | None,
    existing_memory: float | None,
    existing_memory_limit: float | None,
    existing_auth: bool,
    existing_token_auth: bool,
) -> str:
    """``AksWebservice._validate_update`` (aks.py:L843-1017) without the Image/Environment rows.

    Longer than ~80 lines on purpose: it follows azureml-core's function block by block, in its
    order, so that it can be compared with it line by line (the message order is v1's).

    ``v`` holds the arguments of this ``update()`` call; the ``existing_*`` values are the
    current service's (resolved) settings, as v1 read them from the deployed service.
    """

    def g(name: str) -> Any:
        return v.get(name)

    p = "Error, "
    e = ""
    cpu, cpu_limit = g("cpu_cores"), g("cpu_cores_limit")
    if cpu is not None:
        if cpu <= 0:
            e += f"{p}cpu_cores must be greater than zero.\n"
        if existing_cpu_limit is not None and cpu > existing_cpu_limit:
            e += (
                f"{p}cpu_cores must be less than or equal to "
                "container_resource_requirements.cpu_limit.\n"
            )
    if cpu_limit is not None:
        if cpu_limit <= 0:
            e += f"{p}cpu_cores_limit must be greater than zero.\n"
        if cpu is not None and cpu_limit < cpu:
            e += f"{p}cpu_cores_limit must be greater than or equal to cpu_cores.\n"
        if existing_cpu is not None and cpu_limit < existing_cpu:
            e += (
                f"{p}cpu_cores_limit must be greater than or equal to "
                "container_resource_requirements.cpu.\n"
            )
    memory, memory_limit = g("memory_gb"), g("memory_gb_limit")
    if memory is not None:
        if memory <= 0:
            e += f"{p}memory_gb must be greater than zero.\n"
        if existing_memory_limit and memory > existing_memory_limit:
            e += (
                f"{p}memory_gb must be less than or equal to "
                "container_resource_requirements.memory_in_gb_limit.\n"
            )
    if memory_limit is not None:
        if memory_limit <= 0:
            e += f"{p}memory_gb_limit must be greater than zero.\n"
        elif memory and memory_limit < memory:
            e += f"{p}memory_gb_limit must be greater than or equal to memory_gb.\n"
        elif existing_memory and memory_limit < existing_memory:
            e += (
                f"{p}memory_gb_limit must be greater than or equal to "
                "container_resource_requirements.memory_in_gb.\n"
            )
    if g("gpu_cores") is not None and g("gpu_cores") < 0:
        e += f"{p}gpu_cores must be greater than or equal to zero.\n"
    for name in (
        "scoring_timeout_ms",
        "replica_max_concurrent_requests",
        "max_request_wait_time",
        "num_replicas",
        "period_seconds",
        "timeout_seconds",
        "initial_delay_seconds",
        "success_threshold",
        "failure_threshold",
    ):
        if g(name) is not None and g(name) <= 0:
            e += f"{p}{name} must be greater than zero.\n"
    if g("namespace") and not re.match(NAMESPACE_REGEX, g("namespace")):
        e += f"{p}{NAMESPACE_MESSAGE}\n"
    e += _autoscale_messages(v, p)
    token, auth = g("token_auth_enabled"), g("auth_enabled")
    if token and auth:
        e += f"{p}cannot set both token_auth_enabled and auth_enabled.\n"
    elif (token and (existing_auth and auth is not False)) or (
        auth and (existing_token_auth and token is not False)
    ):
        e += (
            f"{p}cannot set token_auth_enabled without disabling key auth "
            "(set auth_enabled to False).\n"
        )
    return e
