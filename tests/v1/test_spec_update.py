"""``update()``: §1.4 semantics and every applicable ``Error, ...`` message."""

from __future__ import annotations

from typing import Any

import pytest

from aksml.errors import WebserviceException
from aksml.v1 import NAMESPACE_REGEX, deploy_configuration, endpoint_deploy_configuration

E = "Error, "
BASE: dict[str, Any] = {}
CPU_LIMIT_VS_EXISTING = (
    f"{E}cpu_cores_limit must be greater than or equal to container_resource_requirements.cpu.\n"
)
SWITCH_AUTH = (
    f"{E}cannot set token_auth_enabled without disabling key auth (set auth_enabled to False).\n"
)
LIMITED: dict[str, Any] = {
    "cpu_cores": 1,
    "cpu_cores_limit": 2,
    "memory_gb": 1,
    "memory_gb_limit": 2,
}

UPDATE_CASES: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (BASE, {"cpu_cores": -1}, f"{E}cpu_cores must be greater than zero.\n"),
    (
        LIMITED,
        {"cpu_cores": 3},
        f"{E}cpu_cores must be less than or equal to container_resource_requirements.cpu_limit.\n",
    ),
    # accumulated like v1: 0 is also below the existing (default 0.1) request
    (
        BASE,
        {"cpu_cores_limit": 0},
        f"{E}cpu_cores_limit must be greater than zero.\n" + CPU_LIMIT_VS_EXISTING,
    ),
    (
        BASE,
        {"cpu_cores": 1, "cpu_cores_limit": 0.5},
        f"{E}cpu_cores_limit must be greater than or equal to cpu_cores.\n",
    ),
    (
        LIMITED,
        {"cpu_cores_limit": 0.5},
        CPU_LIMIT_VS_EXISTING,
    ),
    # the existing request is the server-applied default (0.1) when none was given
    (
        BASE,
        {"cpu_cores_limit": 0.05},
        CPU_LIMIT_VS_EXISTING,
    ),
    (BASE, {"memory_gb": -1}, f"{E}memory_gb must be greater than zero.\n"),
    (
        LIMITED,
        {"memory_gb": 3},
        f"{E}memory_gb must be less than or equal to "
        "container_resource_requirements.memory_in_gb_limit.\n",
    ),
    (BASE, {"memory_gb_limit": -1}, f"{E}memory_gb_limit must be greater than zero.\n"),
    (
        BASE,
        {"memory_gb": 2, "memory_gb_limit": 1},
        f"{E}memory_gb_limit must be greater than or equal to memory_gb.\n",
    ),
    (
        LIMITED,
        {"memory_gb_limit": 0.5},
        f"{E}memory_gb_limit must be greater than or equal to "
        "container_resource_requirements.memory_in_gb.\n",
    ),
    (BASE, {"gpu_cores": -1}, f"{E}gpu_cores must be greater than or equal to zero.\n"),
    *[
        (BASE, {name: -1}, f"{E}{name} must be greater than zero.\n")
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
        )
    ],
    (
        BASE,
        {"namespace": "Bad"},
        f"{E}namespace must be a valid Kubernetes namespace. Regex for validation is "
        f"{NAMESPACE_REGEX}\n",
    ),
    (
        BASE,
        {"autoscale_enabled": True, "num_replicas": 2},
        f"{E}autoscale enabled and num_replicas provided.\n",
    ),
    *[
        (
            BASE,
            {"autoscale_enabled": True, name: -1},
            f"{E}{name} must be greater than zero.\n",
        )
        for name in (
            "autoscale_min_replicas",
            "autoscale_max_replicas",
            "autoscale_refresh_seconds",
            "autoscale_target_utilization",
        )
    ],
    (
        BASE,
        {"autoscale_enabled": True, "autoscale_min_replicas": 4, "autoscale_max_replicas": 2},
        f"{E}autoscale_min_replicas cannot be greater than autoscale_max_replicas.\n",
    ),
    (
        BASE,
        {"autoscale_enabled": False},
        f"{E}autoscale disabled but num_replicas not provided.\n",
    ),
    # knobs need autoscale_enabled=True in the same call, whatever the current state (v1 probe)
    *[
        (
            {"autoscale_enabled": True},
            {name: 3},
            f"{E}{name} provided without enabling autoscaling.\n",
        )
        for name in (
            "autoscale_min_replicas",
            "autoscale_max_replicas",
            "autoscale_refresh_seconds",
            "autoscale_target_utilization",
        )
    ],
    (
        BASE,
        {"token_auth_enabled": True, "auth_enabled": True},
        f"{E}cannot set both token_auth_enabled and auth_enabled.\n",
    ),
    # key auth is on by default: switching to token auth must turn it off explicitly
    (
        BASE,
        {"token_auth_enabled": True},
        SWITCH_AUTH,
    ),
    # same message (sic) the other way round
    (
        {"token_auth_enabled": True},
        {"auth_enabled": True},
        SWITCH_AUTH,
    ),
    # beyond v1
    (
        {"properties": {"team": "a"}},
        {"properties": {"team": "b"}},
        f"{E}property 'team' already has the value 'a'; properties cannot be changed after "
        "deployment, only new keys can be added.\n",
    ),
    (
        {"autoscale_enabled": True},
        {"num_replicas": 3},
        f"{E}num_replicas provided for a configuration with autoscale_enabled=True; pass "
        "autoscale_enabled=False with it to switch to a fixed replica count.\n",
    ),
    (
        BASE,
        {"primary_key": "k"},
        f"{E}primary_key cannot be changed by update(); create a new configuration with "
        "deploy_configuration() instead.\n",
    ),
    (
        BASE,
        {"cpu_core": 1},
        "Invalid configuration, unknown update() parameter 'cpu_core'. Did you mean 'cpu_cores'?\n",
    ),
    (
        BASE,
        {"cpu_cores": "1"},
        "Invalid configuration, cpu_cores must be a number, got '1' (str).\n",
    ),
]


@pytest.mark.parametrize(("existing", "kwargs", "message"), UPDATE_CASES)
def test_update_messages(existing: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    config = deploy_configuration(**existing)
    with pytest.raises(WebserviceException) as info:
        config.update(**kwargs)
    assert info.value.message == message


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"gpu_cores": 0},
        {"memory_gb": 0},
        {"replica_max_concurrent_requests": 0},
        {"description": ""},
    ],
)
def test_update_nothing(kwargs: dict[str, Any]) -> None:
    with pytest.raises(WebserviceException) as info:
        deploy_configuration().update(**kwargs)
    assert info.value.message == "No parameters provided to update."


def test_update_semantics() -> None:
    config = deploy_configuration(
        cpu_cores=0.5, tags={"a": "1"}, properties={"p": "1"}, description="d"
    )
    new = config.update(memory_gb=2, tags={"b": "2"}, properties={"p": "1", "q": "2"})
    assert new is not config
    assert config.memory_gb is None  # the original is unchanged
    assert new.cpu_cores == 0.5 and new.memory_gb == 2 and new.description == "d"
    assert new.tags == {"b": "2"}  # tags replace
    assert new.properties == {"p": "1", "q": "2"}  # properties add
    # booleans use `is None`: False is an update
    assert config.update(collect_model_data=False).collect_model_data is False


def test_update_switches_scaling_and_auth() -> None:
    auto = deploy_configuration(autoscale_enabled=True, autoscale_max_replicas=4)
    fixed = auto.update(autoscale_enabled=False, num_replicas=3)
    assert fixed.resolve().num_replicas == 3 and fixed.autoscale_max_replicas is None
    back = fixed.update(autoscale_enabled=True, autoscale_max_replicas=5)
    assert back.num_replicas is None and back.resolve().autoscale_max_replicas == 5
    token = deploy_configuration().update(token_auth_enabled=True, auth_enabled=False)
    assert token.resolve().token_auth_enabled and not token.resolve().auth_enabled
    key = token.update(auth_enabled=True, token_auth_enabled=False)
    assert key.resolve().auth_enabled and not key.resolve().token_auth_enabled


def test_update_result_is_revalidated() -> None:
    config = deploy_configuration(cpu_cores_limit=1)
    with pytest.raises(WebserviceException) as info:
        config.update(memory_gb=1, memory_gb_limit=0.5)
    assert info.value.message == f"{E}memory_gb_limit must be greater than or equal to memory_gb.\n"


def test_endpoint_update_traffic() -> None:
    endpoint = endpoint_deploy_configuration(version_name="blue", traffic_percentile=20)
    assert endpoint.update(traffic_percentile=0).traffic_percentile == 0
    with pytest.raises(WebserviceException) as info:
        endpoint.update(traffic_percentile=101)
    assert info.value.message == (
        "Invalid configuration, traffic_percentile cannot be negative or greater than 100.\n"
    )
