"""Every v1 deploy_configuration parameter, passed to AksWebservice, lands where documented
(docs/components.md): one row per parameter, checked on the registered Kubernetes inputs."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from aksml import v1
from aksml.components.webservice import AksWebservice
from startable import script_args

Inputs = dict[str, dict[str, Any]]  # resource type suffix -> unwrapped inputs


def _runtime(i: Inputs) -> dict[str, Any]:
    c: dict[str, Any] = i["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    return c


def _env(i: Inputs) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _runtime(i)["env"]}


def _probe(i: Inputs, field: str) -> Any:
    return _runtime(i)["livenessProbe"][field]


def _hpa(i: Inputs, field: str) -> Any:
    return i["HorizontalPodAutoscaler"]["spec"][field]


AUTO = {"autoscale_enabled": True}
ROWS: dict[str, tuple[dict[str, Any], Callable[[Inputs], Any], Any]] = {
    "autoscale_enabled": (
        {"autoscale_enabled": True},
        lambda i: "HorizontalPodAutoscaler" in i,
        True,
    ),
    "autoscale_min_replicas": (
        {**AUTO, "autoscale_min_replicas": 2},
        lambda i: _hpa(i, "minReplicas"),
        2,
    ),
    "autoscale_max_replicas": (
        {**AUTO, "autoscale_max_replicas": 6},
        lambda i: _hpa(i, "maxReplicas"),
        6,
    ),
    "autoscale_refresh_seconds": (
        {**AUTO, "autoscale_refresh_seconds": 9, "autoscaler": "keda"},
        lambda i: i["ScaledObject"]["spec"]["pollingInterval"],
        9,
    ),
    "autoscale_target_utilization": (
        {**AUTO, "autoscale_target_utilization": 40},
        lambda i: _hpa(i, "metrics")[0]["resource"]["target"]["averageUtilization"],
        40,
    ),
    "collect_model_data": (
        {"collect_model_data": True},
        lambda i: _env(i)["AKSML_COLLECT_MODEL_DATA"],
        "true",
    ),
    "auth_enabled": ({"auth_enabled": False}, lambda i: _env(i)["AKSML_AUTH"], "none"),
    "cpu_cores": (
        {"cpu_cores": 1.5},
        lambda i: _runtime(i)["resources"]["requests"]["cpu"],
        "1500m",
    ),
    "memory_gb": (
        {"memory_gb": 0.5},
        lambda i: _runtime(i)["resources"]["requests"]["memory"],
        "512Mi",
    ),
    "enable_app_insights": (
        {"enable_app_insights": True, "app_insights_connection_string": "InstrumentationKey=k"},
        lambda i: i["Secret/app-insights"]["stringData"],
        {"connectionString": "InstrumentationKey=k"},
    ),
    "scoring_timeout_ms": (
        {"scoring_timeout_ms": 30000},
        lambda i: _env(i)["AKSML_SCORING_TIMEOUT_MS"],
        "30000",
    ),
    "replica_max_concurrent_requests": (
        {"replica_max_concurrent_requests": 3},
        lambda i: _env(i)["AKSML_MAX_CONCURRENT_REQUESTS"],
        "3",
    ),
    "max_request_wait_time": (
        {"max_request_wait_time": 250},
        lambda i: _env(i)["AKSML_MAX_REQUEST_WAIT_MS"],
        "250",
    ),
    "num_replicas": ({"num_replicas": 3}, lambda i: i["Deployment"]["spec"]["replicas"], 3),
    "primary_key": (
        {"primary_key": "k1" * 16},
        lambda i: i["Secret/keys"]["stringData"]["primaryKey"],
        "k1" * 16,
    ),
    "secondary_key": (
        {"primary_key": "k1" * 16, "secondary_key": "k2" * 16},
        lambda i: i["Secret/keys"]["stringData"]["secondaryKey"],
        "k2" * 16,
    ),
    "tags": (
        {"tags": {"team": "ml"}},
        lambda i: json.loads(i["Deployment"]["metadata"]["annotations"]["aksml.io/tags"]),
        {"team": "ml"},
    ),
    "properties": (
        {"properties": {"p": "v"}},
        lambda i: json.loads(i["Service"]["metadata"]["annotations"]["aksml.io/properties"]),
        {"p": "v"},
    ),
    "description": (
        {"description": "Iris"},
        lambda i: i["Deployment"]["metadata"]["annotations"]["aksml.io/description"],
        "Iris",
    ),
    "gpu_cores": (
        {"gpu_cores": 1},
        lambda i: _runtime(i)["resources"]["limits"]["nvidia.com/gpu"],
        "1",
    ),
    "period_seconds": ({"period_seconds": 20}, lambda i: _probe(i, "periodSeconds"), 20),
    "initial_delay_seconds": (
        {"initial_delay_seconds": 15},
        lambda i: _probe(i, "initialDelaySeconds"),
        15,
    ),
    "timeout_seconds": ({"timeout_seconds": 3}, lambda i: _probe(i, "timeoutSeconds"), 3),
    "success_threshold": (
        {"success_threshold": 2},
        lambda i: (
            _probe(i, "successThreshold"),
            _runtime(i)["readinessProbe"]["successThreshold"],
        ),
        (1, 2),  # liveness must be 1 (API server); v1's threshold gates readiness
    ),
    "failure_threshold": ({"failure_threshold": 5}, lambda i: _probe(i, "failureThreshold"), 5),
    "namespace": ({"namespace": "ml"}, lambda i: i["Service"]["metadata"]["namespace"], "ml"),
    "token_auth_enabled": (
        {
            "auth_enabled": False,
            "token_auth_enabled": True,
            "token_issuer": "https://login.microsoftonline.com/t/v2.0",
            "token_audience": "api://ml",
        },
        lambda i: _env(i)["AKSML_AUTH"],
        "token",
    ),
    "compute_target_name": (
        {"compute_target_name": "aks1"},
        lambda i: i["Deployment"]["metadata"]["annotations"]["aksml.io/compute-target"],
        "aks1",
    ),
    "cpu_cores_limit": (
        {"cpu_cores_limit": 2},
        lambda i: _runtime(i)["resources"]["limits"]["cpu"],
        "2",
    ),
    "memory_gb_limit": (
        {"memory_gb_limit": 3},
        lambda i: _runtime(i)["resources"]["limits"]["memory"],
        "3Gi",
    ),
    "blobfuse_enabled": (
        {
            "blobfuse_enabled": True,
            "models": [
                {
                    "name": "m",
                    "version": "1",
                    "source": "blob",
                    "url": "https://a.blob.core.windows.net/c/m",
                }
            ],
        },
        lambda i: [
            v["csi"]["driver"]
            for v in i["Deployment"]["spec"]["template"]["spec"]["volumes"]
            if "csi" in v
        ],
        ["blob.csi.azure.com"],
    ),
}


def test_table_covers_every_parameter() -> None:
    assert sorted(ROWS) == sorted(inspect.signature(v1.deploy_configuration).parameters)


@pytest.mark.parametrize("param", sorted(ROWS))
@pulumi.runtime.test
async def test_parameter_lands(param: str, pulumi_mocks: Any) -> None:
    env = pulumi_mocks()
    args, where, expected = ROWS[param]
    ws = AksWebservice("svc", script_args(**args))  # type: ignore[arg-type]
    await pulumi.Output.all(*[r.urn for r in ws.resources.values()]).future()
    inputs: Inputs = {}
    for reg in env.recorder.children():
        kind = reg.typ.rsplit(":", 1)[-1]
        data = env.recorder.unwrap(reg.inputs)
        inputs[kind] = data
        if kind == "Secret":
            inputs[f"Secret/{reg.name.removeprefix('svc-')}"] = data
    assert where(inputs) == expected
