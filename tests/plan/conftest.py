"""Shared fixtures for plan tests: a resolved-config factory, schema validators, scenarios."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from aksml.plan import (
    CodeBundle,
    EnvironmentSpec,
    GatewayParentRef,
    GatewaySpec,
    IngressSpec,
    ModelRef,
    ProxySpec,
    Toleration,
    WorkloadSettings,
    plan_webservice,
)
from aksml.v1.resolved import ResolvedServiceConfig
from startable import SCRIPT

PACKAGE_CRD_DIR = Path(__file__).resolve().parents[2] / "provider" / "aksml" / "plan" / "crds"
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0")
CRD_FILES = {
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): PACKAGE_CRD_DIR
    / "gateway-api-v1.6.1-standard-httproutes.yaml",
    ("keda.sh/v1alpha1", "ScaledObject"): PACKAGE_CRD_DIR / "keda-v2.20.2-scaledobjects.yaml",
}

DEFAULTS: dict[str, Any] = {
    "autoscale_enabled": True,
    "autoscale_min_replicas": 1,
    "autoscale_max_replicas": 10,
    "autoscale_refresh_seconds": 1,
    "autoscale_target_utilization": 70,
    "num_replicas": None,
    "collect_model_data": False,
    "auth_enabled": True,
    "token_auth_enabled": False,
    "cpu_cores": 0.1,
    "cpu_cores_limit": None,
    "memory_gb": 0.5,
    "memory_gb_limit": None,
    "gpu_cores": 0,
    "enable_app_insights": False,
    "scoring_timeout_ms": 60000,
    "replica_max_concurrent_requests": 1,
    "max_request_wait_time": 500,
    "period_seconds": 10,
    "initial_delay_seconds": 310,
    "timeout_seconds": 2,
    "success_threshold": 1,
    "failure_threshold": 3,
    "namespace": None,
    "primary_key": None,
    "secondary_key": None,
    "tags": {},
    "properties": {},
    "description": None,
    "compute_target_name": None,
    "blobfuse_enabled": True,
}


def make_config(**overrides: Any) -> ResolvedServiceConfig:
    """A resolved config with the documented v1 defaults, overridden by keyword."""
    values = {**DEFAULTS, **overrides}
    if values["num_replicas"] is not None and "autoscale_enabled" not in overrides:
        values["autoscale_enabled"] = False
    return ResolvedServiceConfig(**values)


@pytest.fixture
def config() -> Callable[..., ResolvedServiceConfig]:
    return make_config


def _strict(schema: Any) -> Any:
    """Forbid unknown fields wherever the CRD schema lists properties (structural pruning
    would silently drop them on a real API server)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@functools.cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    group, version = api_version.split("/")
    crd = yaml.safe_load(CRD_FILES[(api_version, kind)].read_text())
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return _strict(entry["schema"]["openAPIV3Schema"])  # type: ignore[no-any-return]
    raise AssertionError(f"{kind} {api_version} not in {CRD_FILES[(api_version, kind)].name}")


def validate_object(obj: dict[str, Any]) -> None:
    """Raise unless ``obj`` is schema-valid: core kinds with kubernetes-validate --strict on
    every version in KUBERNETES_VERSIONS, custom resources against their CRD schema."""
    key = (obj["apiVersion"], obj["kind"])
    if key in CRD_FILES:
        body = copy.deepcopy(obj)
        # metadata is a plain object in CRD schemas: validate it as an ObjectMeta too
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": body["metadata"]},
            KUBERNETES_VERSIONS[0],
            strict=True,
        )
        jsonschema.Draft7Validator(crd_schema(*key)).validate(body)
        return
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.fixture
def validate() -> Callable[[dict[str, Any]], None]:
    return validate_object


def _scenarios() -> dict[str, tuple[ResolvedServiceConfig, WorkloadSettings]]:
    code = CodeBundle(
        directory_name="src",
        files={
            "score.py": b"def init():\n    pass\n",
            "lib/util.py": b"X = 1\n",
            "m.bin": b"\x00\xff",
        },
    )
    return {
        "defaults": (make_config(), WorkloadSettings(entry_script=SCRIPT)),
        "load-balancer-keda": (
            make_config(tags={"team": "ml", "cost center": "a/b"}, properties={"p": "1"}),
            WorkloadSettings(
                exposure="load_balancer",
                internal_load_balancer=True,
                autoscaler="keda",
                entry_script="score.py",
                code=code,
                environment=EnvironmentSpec(
                    pip_requirements=("scikit-learn==1.5.2",),
                    index_url="https://pypi.example/simple",
                ),
                models=(
                    ModelRef(
                        name="iris", version="3", source="url", url="https://m.example/iris.pkl"
                    ),
                ),
            ),
        ),
        "ingress-tls-fixed": (
            make_config(
                num_replicas=3,
                namespace="ml",
                description="d",
                cpu_cores_limit=2,
                memory_gb_limit=4,
            ),
            WorkloadSettings(
                exposure="ingress",
                ingress=IngressSpec(host="ml.example.com", tls_secret_name="ml-tls"),
                create_namespace=True,
                image_pull_secrets=("acr",),
                entry_script=SCRIPT,
                models=(
                    ModelRef(
                        name="a",
                        version="1",
                        source="blob",
                        url="https://acct.blob.core.windows.net/models/a/1",
                    ),
                    ModelRef(name="b", version="2"),
                ),
            ),
        ),
        "gateway-proxy-gpu": (
            make_config(
                gpu_cores=1,
                cpu_cores=2,
                memory_gb=8,
                token_auth_enabled=True,
                auth_enabled=False,
                enable_app_insights=True,
                collect_model_data=True,
            ),
            WorkloadSettings(
                exposure="gateway",
                gateway=GatewaySpec(
                    parent_refs=(
                        GatewayParentRef(name="gw", namespace="infra", section_name="https"),
                    ),
                    hostnames=("ml.example.com",),
                    https=True,
                ),
                runtime_mode="proxy",
                proxy=ProxySpec(image="nvcr.io/nim:1", port=8000, swagger_path="/openapi.json"),
                node_selector={"agentpool": "gpu"},
                tolerations=(Toleration(key="sku", value="gpu", effect="NoSchedule"),),
                workload_identity_client_id="00000000-0000-0000-0000-000000000000",
                app_insights_connection_string="InstrumentationKey=x",
                token_issuer="https://login.microsoftonline.com/t/v2.0",
                token_audience="api://ml",
                environment_variables={"MY_FLAG": "1"},
            ),
        ),
        "blob-download-cluster": (
            make_config(blobfuse_enabled=False, num_replicas=1),
            WorkloadSettings(
                models=(
                    ModelRef(
                        name="a",
                        version="1",
                        source="blob",
                        url="https://acct.blob.core.windows.net/models/a.onnx",
                    ),
                ),
                entry_script="score.py",
                service_account_name="existing-sa",
            ),
        ),
    }


SCENARIOS = _scenarios()


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]], WorkloadSettings]:
    """(id, rendered objects, workload) for each representative configuration."""
    name: str = request.param
    cfg, work = SCENARIOS[name]
    return name, plan_webservice("svc-" + name[:20].rstrip("-"), cfg, work), work


@pytest.fixture
def scenarios() -> dict[str, tuple[ResolvedServiceConfig, WorkloadSettings]]:
    """Every representative (config, workload) pair by id."""
    return SCENARIOS
