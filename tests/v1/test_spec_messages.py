"""Every v1 validation message (§1.3, §1.4, §1.5, name rules), table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from aksml.errors import WebserviceException
from aksml.v1 import (
    NAMESPACE_REGEX,
    SERVICE_NAME_MESSAGE,
    deploy_configuration,
    endpoint_deploy_configuration,
    validate_namespace,
    validate_service_name,
)

INV = "Invalid configuration, "
NS = f"namespace must be a valid Kubernetes namespace. Regex for validation is {NAMESPACE_REGEX}"

DEPLOY_CASES: list[tuple[dict[str, Any], str]] = [
    ({"cpu_cores": 0}, f"{INV}cpu_cores must be greater than zero.\n"),
    (
        {"cpu_cores": 1, "cpu_cores_limit": 0.5},
        f"{INV}cpu_cores_limit must be greater than or equal to cpu_cores.\n",
    ),
    ({"memory_gb": -1}, f"{INV}memory_gb must be greater than zero.\n"),
    (
        {"memory_gb": 2, "memory_gb_limit": 1},
        f"{INV}memory_gb_limit must be greater than or equal to memory_gb.\n",
    ),
    ({"gpu_cores": -1}, f"{INV}gpu_cores must be greater than or equal to zero.\n"),
    ({"period_seconds": 0}, f"{INV}period_seconds must be greater than zero.\n"),
    ({"initial_delay_seconds": 0}, f"{INV}initial_delay_seconds must be greater than zero.\n"),
    ({"timeout_seconds": 0}, f"{INV}timeout_seconds must be greater than zero.\n"),
    ({"success_threshold": 0}, f"{INV}success_threshold must be greater than zero.\n"),
    ({"failure_threshold": -3}, f"{INV}failure_threshold must be greater than zero.\n"),
    ({"namespace": "Bad_NS"}, f"{INV}{NS}\n"),
    ({"namespace": "a" * 64}, f"{INV}{NS}\n"),
    ({"scoring_timeout_ms": 0}, f"{INV}scoring_timeout_ms must be greater than zero.\n"),
    (
        {"replica_max_concurrent_requests": 0},
        f"{INV}replica_max_concurrent_requests must be greater than zero.\n",
    ),
    ({"max_request_wait_time": 0}, f"{INV}max_request_wait_time must be greater than zero.\n"),
    ({"num_replicas": 0}, f"{INV}num_replicas must be greater than zero.\n"),
    (
        {"autoscale_enabled": True, "num_replicas": 2},
        f"{INV}autoscale enabled and num_replicas provided.\n",
    ),
    (
        {"autoscale_enabled": True, "autoscale_min_replicas": 0},
        f"{INV}autoscale_min_replicas must be greater than zero.\n",
    ),
    (
        {"autoscale_enabled": True, "autoscale_max_replicas": -1},
        f"{INV}autoscale_max_replicas must be greater than zero.\n",
    ),
    (
        {"autoscale_enabled": True, "autoscale_min_replicas": 5, "autoscale_max_replicas": 2},
        f"{INV}autoscale_min_replicas cannot be greater than autoscale_max_replicas.\n",
    ),
    (
        {"autoscale_enabled": True, "autoscale_refresh_seconds": 0},
        f"{INV}autoscale_refresh_seconds must be greater than zero.\n",
    ),
    (
        {"autoscale_enabled": True, "autoscale_target_utilization": 0},
        f"{INV}autoscale_target_utilization must be greater than zero.\n",
    ),
    ({"autoscale_enabled": False}, f"{INV}autoscale disabled but num_replicas not provided.\n"),
    (
        {"autoscale_min_replicas": 2},
        f"{INV}autoscale_min_replicas provided without enabling autoscaling.\n",
    ),
    (
        {"autoscale_enabled": False, "num_replicas": 1, "autoscale_max_replicas": 2},
        f"{INV}autoscale_max_replicas provided without enabling autoscaling.\n",
    ),
    (
        {"autoscale_refresh_seconds": 2},
        f"{INV}autoscale_refresh_seconds provided without enabling autoscaling.\n",
    ),
    (
        {"autoscale_target_utilization": 50},
        f"{INV}autoscale_target_utilization provided without enabling autoscaling.\n",
    ),
    (
        {"auth_enabled": True, "token_auth_enabled": True},
        f"{INV}auth_enabled and token_auth_enabled cannot both be true.\n",
    ),
    # the reference's accumulated probe, byte for byte
    (
        {
            "cpu_cores": -1,
            "memory_gb": -1,
            "scoring_timeout_ms": 0,
            "num_replicas": 0,
            "period_seconds": 0,
        },
        f"{INV}cpu_cores must be greater than zero.\n{INV}memory_gb must be greater than zero.\n"
        f"{INV}period_seconds must be greater than zero.\n"
        f"{INV}scoring_timeout_ms must be greater than zero.\n"
        f"{INV}num_replicas must be greater than zero.\n",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), DEPLOY_CASES)
def test_deploy_configuration_messages(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(WebserviceException) as info:
        deploy_configuration(**kwargs)
    assert info.value.message == message
    assert str(info.value) == message
    # the endpoint configuration runs the same checks first
    with pytest.raises(WebserviceException) as endpoint_info:
        endpoint_deploy_configuration(**kwargs)
    assert endpoint_info.value.message == message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cpu_cores_limit": 0.05},  # a limit alone is accepted (v1)
        {"autoscale_min_replicas": 0},  # 0 is falsy for the "without enabling" check
        {"namespace": "a" * 63},
        {"namespace": ""},
        {"token_auth_enabled": True},
        {"token_auth_enabled": True, "auth_enabled": False},
        {"autoscale_enabled": False, "num_replicas": 3},
        {"gpu_cores": 0},
    ],
)
def test_v1_accepts(kwargs: dict[str, Any]) -> None:
    if kwargs == {"namespace": ""}:
        with pytest.raises(WebserviceException, match="namespace must not be empty"):
            deploy_configuration(**kwargs)  # beyond v1: an empty namespace is not a namespace
        return
    assert deploy_configuration(**kwargs).given() == kwargs


TRAFFIC = f"{INV}traffic_percentile cannot be negative or greater than 100.\n"

ENDPOINT_CASES: list[tuple[dict[str, Any], str]] = [
    ({"version_name": "Blue"}, SERVICE_NAME_MESSAGE),
    ({"version_name": "ab"}, SERVICE_NAME_MESSAGE),
    ({"traffic_percentile": -1}, TRAFFIC),
    ({"traffic_percentile": 100.5}, TRAFFIC),
    # §1.3 errors are raised before (and without) the endpoint checks
    ({"version_name": "B", "cpu_cores": 0}, f"{INV}cpu_cores must be greater than zero.\n"),
    # the name error comes alone, before the traffic check
    ({"version_name": "B", "traffic_percentile": 200}, SERVICE_NAME_MESSAGE),
]


@pytest.mark.parametrize(("kwargs", "message"), ENDPOINT_CASES)
def test_endpoint_messages(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(WebserviceException) as info:
        endpoint_deploy_configuration(**kwargs)
    assert info.value.message == message


def test_endpoint_accepts_zero_traffic() -> None:
    assert endpoint_deploy_configuration(traffic_percentile=0).traffic_percentile == 0


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("abc", True),
        ("a" * 32, True),
        ("my-svc-2", True),
        ("ab", False),
        ("a" * 33, False),
        ("1abc", False),
        ("abc-", False),
        ("aBc", False),
        ("a_bc", False),
        ("abc\n", False),
    ],
)
def test_service_name_rule(name: str, valid: bool) -> None:
    if valid:
        assert validate_service_name(name) == name
    else:
        with pytest.raises(WebserviceException) as info:
            validate_service_name(name)
        assert info.value.message == SERVICE_NAME_MESSAGE


@pytest.mark.parametrize(
    ("namespace", "valid"),
    [("default", True), ("a", True), ("a" * 63, True), ("a" * 64, False), ("-a", False)],
)
def test_namespace_rule(namespace: str, valid: bool) -> None:
    if valid:
        assert validate_namespace(namespace) == namespace
    else:
        with pytest.raises(WebserviceException) as info:
            validate_namespace(namespace)
        assert info.value.message == f"{INV}{NS}\n"
