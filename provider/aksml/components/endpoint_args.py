"""``AksEndpointArgs`` / ``AksEndpointVersionArgs``: the endpoint component's inputs, built for
cross-language use (``NotRequired[pulumi.Input[T]]`` fields with docstrings, str enums).

Endpoint-level settings (auth, keys, app insights, namespace, exposure) are shared by every
version; each version carries v1 ``create_version``'s parameters plus what runs in it.
"""

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi

from aksml.components.args import (
    AzureArgs,
    EnvironmentArgs,
    GatewayArgs,
    IngressArgs,
    KedaArgs,
    ModelArgs,
    ProxyArgs,
    TolerationArgs,
)
from aksml.plan.endpoint import VersionType
from aksml.plan.settings import AutoscalerKind, Exposure, RuntimeMode

__all__ = ["AksEndpointArgs", "AksEndpointVersionArgs", "VersionType"]


class AksEndpointVersionArgs(TypedDict):
    """One version of an endpoint: v1 ``create_version`` parameters plus what runs in it."""

    version_name: pulumi.Input[str]
    """Version name (3-32 chars, lowercase letters, digits, dashes); objects are named
    <endpoint>-<version>."""
    traffic_percentile: NotRequired[pulumi.Input[float]]
    """Share of the endpoint's traffic in percent (0-100). The default version receives what
    the others leave; 0 = deployed and reachable by its own URI and by pinning, no split
    traffic."""
    is_default: NotRequired[pulumi.Input[bool]]
    """The default version (receives the remaining traffic). None marked: the first version."""
    version_type: NotRequired[pulumi.Input[VersionType]]
    """control (exactly one; default: the default version) or treatment."""
    autoscale_enabled: NotRequired[pulumi.Input[bool]]
    """Autoscale (default True when num_replicas is unset)."""
    autoscale_min_replicas: NotRequired[pulumi.Input[int]]
    """Minimum replicas when autoscaling (default 1)."""
    autoscale_max_replicas: NotRequired[pulumi.Input[int]]
    """Maximum replicas when autoscaling (default 10)."""
    autoscale_refresh_seconds: NotRequired[pulumi.Input[int]]
    """Autoscaler polling interval in seconds (default 1)."""
    autoscale_target_utilization: NotRequired[pulumi.Input[int]]
    """Target utilisation percent (default 70)."""
    collect_model_data: NotRequired[pulumi.Input[bool]]
    """Collect model inputs and predictions (default False)."""
    cpu_cores: NotRequired[pulumi.Input[float]]
    """CPU request in cores (default 0.1)."""
    memory_gb: NotRequired[pulumi.Input[float]]
    """Memory request in GiB (default 0.5)."""
    scoring_timeout_ms: NotRequired[pulumi.Input[int]]
    """Scoring timeout in ms (default 60000)."""
    replica_max_concurrent_requests: NotRequired[pulumi.Input[int]]
    """Concurrent run() calls per replica (default 1)."""
    max_request_wait_time: NotRequired[pulumi.Input[int]]
    """Queue wait in ms before a 503 (default 500)."""
    num_replicas: NotRequired[pulumi.Input[int]]
    """Fixed replica count (disables autoscaling)."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Version tags, merged over the endpoint's."""
    properties: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Version properties, merged over the endpoint's."""
    description: NotRequired[pulumi.Input[str]]
    """Version description (default: the endpoint's)."""
    gpu_cores: NotRequired[pulumi.Input[int]]
    """GPUs per replica (default 0)."""
    period_seconds: NotRequired[pulumi.Input[int]]
    """Liveness probe period (default 10)."""
    initial_delay_seconds: NotRequired[pulumi.Input[int]]
    """Liveness probe initial delay (default 310)."""
    timeout_seconds: NotRequired[pulumi.Input[int]]
    """Liveness probe timeout (default 2)."""
    success_threshold: NotRequired[pulumi.Input[int]]
    """Consecutive successes before a replica counts as ready (default 1). v1 named it a
    liveness setting; it is set on the readiness probe because Kubernetes accepts only 1 on a
    liveness probe."""
    failure_threshold: NotRequired[pulumi.Input[int]]
    """Liveness probe failure threshold (default 3)."""
    cpu_cores_limit: NotRequired[pulumi.Input[float]]
    """CPU limit in cores (default: none)."""
    memory_gb_limit: NotRequired[pulumi.Input[float]]
    """Memory limit in GiB (default: none)."""
    blobfuse_enabled: NotRequired[pulumi.Input[bool]]
    """Mount blob-sourced models with the Azure Blob CSI driver (default True)."""
    image: NotRequired[pulumi.Input[str]]
    """Runtime image (default: the aksml runtime image)."""
    entry_script: NotRequired[pulumi.Input[str]]
    """score.py path, relative to source_directory when given."""
    source_directory: NotRequired[pulumi.Input[str]]
    """Directory shipped with the entry script (ConfigMap, at most 1 MiB)."""
    code_in_image: NotRequired[pulumi.Input[bool]]
    """The code is baked into the image."""
    models: NotRequired[pulumi.Input[Sequence[pulumi.Input[ModelArgs]]]]
    """Models exposed under AZUREML_MODEL_DIR."""
    environment: NotRequired[pulumi.Input[EnvironmentArgs]]
    """pip dependencies installed at pod start."""
    environment_variables: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Extra environment variables for the scoring (and model) container."""
    runtime_mode: NotRequired[pulumi.Input[RuntimeMode]]
    """in_process (default) or proxy."""
    proxy: NotRequired[pulumi.Input[ProxyArgs]]
    """Proxy mode settings."""
    autoscaler: NotRequired[pulumi.Input[AutoscalerKind]]
    """hpa (default) or keda."""
    keda: NotRequired[pulumi.Input[KedaArgs]]
    """KEDA settings."""
    node_selector: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Pod nodeSelector."""
    tolerations: NotRequired[pulumi.Input[Sequence[pulumi.Input[TolerationArgs]]]]
    """Pod tolerations."""
    service_account_name: NotRequired[pulumi.Input[str]]
    """Service account."""
    workload_identity_client_id: NotRequired[pulumi.Input[str]]
    """Entra ID client id for Azure workload identity."""
    image_pull_secrets: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Existing image pull Secrets."""
    data_collection_blob_url: NotRequired[pulumi.Input[str]]
    """collect_model_data sink: Azure Blob container URL."""


class AksEndpointArgs(TypedDict):
    """Inputs of ``AksEndpoint``: endpoint-level settings and the list of versions."""

    versions: pulumi.Input[Sequence[pulumi.Input[AksEndpointVersionArgs]]]
    """The versions (at least one); traffic is split by traffic_percentile."""
    auth_enabled: NotRequired[pulumi.Input[bool]]
    """Key auth (default True), for every version."""
    token_auth_enabled: NotRequired[pulumi.Input[bool]]
    """Token (JWT) auth (default False), for every version."""
    token_issuer: NotRequired[pulumi.Input[str]]
    """Token auth: OIDC issuer."""
    token_audience: NotRequired[pulumi.Input[str]]
    """Token auth: expected audience."""
    primary_key: NotRequired[pulumi.Input[str]]
    """Primary key shared by every version (default: generated)."""
    secondary_key: NotRequired[pulumi.Input[str]]
    """Secondary key shared by every version (default: generated)."""
    enable_app_insights: NotRequired[pulumi.Input[bool]]
    """Application Insights telemetry (default False); needs app_insights_connection_string."""
    app_insights_connection_string: NotRequired[pulumi.Input[str]]
    """Application Insights connection string (kept in a Secret)."""
    namespace: NotRequired[pulumi.Input[str]]
    """Kubernetes namespace (default: default)."""
    create_namespace: NotRequired[pulumi.Input[bool]]
    """Create the namespace (restricted Pod Security labels)."""
    description: NotRequired[pulumi.Input[str]]
    """Endpoint description."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Endpoint tags (every version inherits them)."""
    properties: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Endpoint properties (every version inherits them)."""
    compute_target_name: NotRequired[pulumi.Input[str]]
    """Compute target name (annotation)."""
    exposure: NotRequired[pulumi.Input[Exposure]]
    """gateway (weights, pinning, per-version paths, shadow) or ingress (ingress-nginx canary,
    two versions); cluster and load_balancer only when a single version gets traffic."""
    gateway: NotRequired[pulumi.Input[GatewayArgs]]
    """Gateway API settings."""
    ingress: NotRequired[pulumi.Input[IngressArgs]]
    """Ingress settings (ingress-nginx class)."""
    internal_load_balancer: NotRequired[pulumi.Input[bool]]
    """load_balancer on an internal Azure load balancer."""
    mirror_to: NotRequired[pulumi.Input[str]]
    """Shadow version: a copy of the split requests goes to it (responses discarded)."""
    mirror_percent: NotRequired[pulumi.Input[int]]
    """Share of the split requests mirrored to mirror_to (1-100, default 100)."""
    skip_await: NotRequired[pulumi.Input[bool]]
    """Do not wait for Deployments/Services/Ingresses to become ready."""
    azure: NotRequired[AzureArgs]
    """Create and wire the endpoint's Azure resources, shared by every version (see
    docs/azure.md): the cluster's Kubernetes provider, one App Insights, one workload identity
    trusted by each version's service account, uploaded models (``models[].versions`` picks
    the versions) and the modeldata container. ``image`` is not supported here."""
