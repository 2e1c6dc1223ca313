"""The parameter table (``aksml.v1.params.PARAMETERS``) is the one declaration of every deploy
parameter: each layer that lists parameters agrees with it, so a parameter forgotten in one
place fails here."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from aksml import contract
from aksml.components.args import AksWebserviceArgs
from aksml.components.endpoint_args import AksEndpointArgs, AksEndpointVersionArgs
from aksml.errors import WebserviceException
from aksml.plan.endpoint import (
    ENDPOINT_ONLY_ARGS,
    ENDPOINT_WORKLOAD_ARGS,
    VERSION_ROUTING_ARGS,
    VERSION_WORKLOAD_ARGS,
)
from aksml.plan.inputs import WORKLOAD_ARGS
from aksml.runtime.settings import resolve_settings
from aksml.v1 import (
    AksEndpointDeploymentConfiguration,
    AksServiceDeploymentConfiguration,
    ResolvedServiceConfig,
    deploy_configuration,
    endpoint_deploy_configuration,
)
from aksml.v1 import params as P

# azureml-core 1.61 signatures (the v1 contract the derived lists must keep, in v1 order)
V1_DEPLOY = [
    "autoscale_enabled",
    "autoscale_min_replicas",
    "autoscale_max_replicas",
    "autoscale_refresh_seconds",
    "autoscale_target_utilization",
    "collect_model_data",
    "auth_enabled",
    "cpu_cores",
    "memory_gb",
    "enable_app_insights",
    "scoring_timeout_ms",
    "replica_max_concurrent_requests",
    "max_request_wait_time",
    "num_replicas",
    "primary_key",
    "secondary_key",
    "tags",
    "properties",
    "description",
    "gpu_cores",
    "period_seconds",
    "initial_delay_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
    "namespace",
    "token_auth_enabled",
    "compute_target_name",
    "cpu_cores_limit",
    "memory_gb_limit",
    "blobfuse_enabled",
]
V1_UPDATE = [
    n for n in V1_DEPLOY if n not in ("primary_key", "secondary_key", "compute_target_name")
][:-1]
_ENDPOINT_LEVEL_OR_SERVICE_ONLY = {
    "auth_enabled",
    "enable_app_insights",
    "primary_key",
    "secondary_key",
    "namespace",
    "token_auth_enabled",
    "compute_target_name",
    "blobfuse_enabled",
}
V1_CREATE_VERSION = [n for n in V1_DEPLOY if n not in _ENDPOINT_LEVEL_OR_SERVICE_ONLY]
V1_ENDPOINT_UPDATE = {
    "auth_enabled",
    "token_auth_enabled",
    "enable_app_insights",
    "description",
    "tags",
    "properties",
}


def _keys(typed_dict: type) -> set[str]:
    return set(typed_dict.__annotations__)


def test_service_args_are_the_table_plus_workload_args() -> None:
    assert _keys(AksWebserviceArgs) == (
        set(P.SERVICE_PARAMETERS) | set(WORKLOAD_ARGS) | {"deployment_config", "azure"}
    )


def test_endpoint_args_are_the_table_plus_endpoint_args() -> None:
    assert _keys(AksEndpointArgs) == (
        set(P.ENDPOINT_SETTINGS) | set(ENDPOINT_WORKLOAD_ARGS) | set(ENDPOINT_ONLY_ARGS) | {"azure"}
    )


def test_version_args_are_the_table_plus_routing_and_workload_args() -> None:
    assert set(P.ROUTING_PARAMETERS) <= set(VERSION_ROUTING_ARGS)
    assert _keys(AksEndpointVersionArgs) == (
        set(P.VERSION_SETTINGS) | set(VERSION_ROUTING_ARGS) | set(VERSION_WORKLOAD_ARGS)
    )


def test_v1_models_and_signatures_follow_the_table() -> None:
    assert list(AksServiceDeploymentConfiguration.model_fields) == list(P.SERVICE_PARAMETERS)
    assert set(AksEndpointDeploymentConfiguration.model_fields) == set(P.ENDPOINT_PARAMETERS)
    assert list(inspect.signature(deploy_configuration).parameters) == list(P.SERVICE_PARAMETERS)
    assert list(inspect.signature(endpoint_deploy_configuration).parameters) == list(
        P.ENDPOINT_PARAMETERS
    )
    assert set(ResolvedServiceConfig.model_fields) == set(P.SERVICE_PARAMETERS)


def test_derived_lists_keep_azureml_core_order() -> None:
    assert list(P.SERVICE_PARAMETERS) == V1_DEPLOY
    assert list(P.UPDATE_PARAMETERS) == V1_UPDATE
    assert list(P.VERSION_PARAMETERS) == V1_CREATE_VERSION
    assert set(P.ENDPOINT_UPDATE_PARAMETERS) == V1_ENDPOINT_UPDATE
    endpoint = [n for n in V1_DEPLOY if n != "blobfuse_enabled"]
    at = endpoint.index("compute_target_name")
    endpoint[at:at] = ["version_name", "traffic_percentile"]
    assert list(P.ENDPOINT_PARAMETERS) == endpoint


def test_resolve_applies_the_table_defaults() -> None:
    resolved = deploy_configuration().resolve()
    for parameter in P.PARAMETERS:
        if parameter.default is not None and parameter.name in P.SERVICE_PARAMETERS:
            assert getattr(resolved, parameter.name) == parameter.default, parameter.name


def test_serialize_writes_every_json_key_of_the_table() -> None:
    config = deploy_configuration(primary_key="a", blobfuse_enabled=False)
    written = {**config.serialize("svc"), **config.to_create_payload("svc")}
    for parameter in P.PARAMETERS:
        if parameter.scope == P.Scope.ROUTING:  # endpoint versions: see the endpoint tests
            continue
        head, _, tail = parameter.json.partition(".")
        if tail:
            assert tail in written[head], parameter.name
        else:
            assert any(k in written for k in (head, *parameter.json_aliases)), parameter.name


_EVERY_PARAMETER: dict[str, Any] = {
    "autoscale_enabled": True,
    "autoscale_min_replicas": 2,
    "autoscale_max_replicas": 5,
    "autoscale_refresh_seconds": 3,
    "autoscale_target_utilization": 60,
    "collect_model_data": True,
    "auth_enabled": True,
    "cpu_cores": 0.5,
    "memory_gb": 1.5,
    "enable_app_insights": True,
    "scoring_timeout_ms": 30000,
    "replica_max_concurrent_requests": 4,
    "max_request_wait_time": 700,
    "primary_key": "pk",
    "secondary_key": "sk",
    "tags": {"team": "ml"},
    "properties": {"p": "1"},
    "description": "full",
    "gpu_cores": 1,
    "period_seconds": 11,
    "initial_delay_seconds": 12,
    "timeout_seconds": 3,
    "success_threshold": 1,
    "failure_threshold": 4,
    "namespace": "ns",
    "token_auth_enabled": False,
    "compute_target_name": "aks1",
    "cpu_cores_limit": 1.0,
    "memory_gb_limit": 2.0,
}


def test_serialized_text_of_a_full_configuration_is_pinned() -> None:
    """``serialize()`` and the create payload are built from the table's JSON keys; their text
    (key order included) ends up in Pulumi state, so it must not move when the table does."""
    service = deploy_configuration(**_EVERY_PARAMETER, blobfuse_enabled=False)
    endpoint = endpoint_deploy_configuration(
        **_EVERY_PARAMETER, version_name="blue", traffic_percentile=40.0
    )
    written = {
        "service.serialize": service.serialize("svc"),
        "service.to_create_payload": service.to_create_payload("svc"),
        "endpoint.serialize": endpoint.serialize("ep"),
        "endpoint.to_create_payload": endpoint.to_create_payload("ep"),
    }
    pinned = Path(__file__).parent / "golden" / "serialized_full.json"
    assert json.dumps(written, indent=2) + "\n" == pinned.read_text(encoding="utf-8")
    # every v1 deploy parameter is set, except num_replicas (v1 refuses it beside the
    # autoscale_* values; it is a top-level key, written in its own line of the writer)
    given = set(_EVERY_PARAMETER) | {"blobfuse_enabled", "num_replicas"}
    assert given == set(P.SERVICE_PARAMETERS)


def test_runtime_contract_defaults_come_from_the_table() -> None:
    assert P.default("scoring_timeout_ms") == contract.DEFAULT_SCORING_TIMEOUT_MS
    assert P.default("max_request_wait_time") == contract.DEFAULT_MAX_REQUEST_WAIT_MS
    assert P.default("replica_max_concurrent_requests") == contract.DEFAULT_MAX_CONCURRENT_REQUESTS


def test_concurrency_limit_is_enforced_by_both_layers(tmp_path: Path) -> None:
    most = P.maximum("replica_max_concurrent_requests")
    assert most == contract.MAX_CONCURRENT_REQUESTS_LIMIT == 1024
    assert deploy_configuration(replica_max_concurrent_requests=most)
    with pytest.raises(WebserviceException) as refused:
        deploy_configuration(replica_max_concurrent_requests=most + 1)
    assert str(refused.value) == (
        "Invalid configuration, replica_max_concurrent_requests must be at most 1024 "
        "(the runtime's limit per replica), got 1025.\n"
    )
    script = tmp_path / "score.py"
    script.write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    flags: dict[str, Any] = {"entry_script": str(script)}
    assert resolve_settings({**flags, "max_concurrent_requests": str(most)}, {})
    with pytest.raises(WebserviceException, match="max-concurrent-requests"):
        resolve_settings({**flags, "max_concurrent_requests": str(most + 1)}, {})
    # update() re-validates the merged configuration, so it refuses the same
    with pytest.raises(WebserviceException, match="at most 1024"):
        deploy_configuration().update(replica_max_concurrent_requests=most + 1)
