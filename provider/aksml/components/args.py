"""``AksWebserviceArgs``: the component's inputs, built for cross-language use.

Every field is ``NotRequired[pulumi.Input[T]]`` with a docstring (it becomes the schema's
description); nested settings are the package's own TypedDicts, closed sets are str enums.
Every ``AksWebservice.deploy_configuration`` keyword is a field under its v1 name.
"""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi

from aksml.azure.args import AzureArgs
from aksml.plan.settings import AutoscalerKind, Exposure, ModelSource, RuntimeMode

__all__ = [
    "AksWebserviceArgs",
    "AutoscalerKind",
    "AzureArgs",
    "EnvironmentArgs",
    "Exposure",
    "GatewayArgs",
    "GatewayParentRefArgs",
    "IngressArgs",
    "KedaArgs",
    "ModelArgs",
    "ModelSource",
    "ProxyArgs",
    "RuntimeMode",
    "TolerationArgs",
]


class ModelArgs(TypedDict):
    """A registered model exposed to score.py under AZUREML_MODEL_DIR."""

    name: pulumi.Input[str]
    """Model name (directory under azureml-models)."""
    version: pulumi.Input[str]
    """Model version (directory under the model name)."""
    source: NotRequired[pulumi.Input[ModelSource]]
    """Where the files come from: image (default), url or blob."""
    url: NotRequired[pulumi.Input[str]]
    """https URL (url) or Azure Blob URL https://<account>.blob.core.windows.net/<container>/<path>
    (blob)."""
    storage_secret_name: NotRequired[pulumi.Input[str]]
    """Blob CSI only: existing Secret with azurestorageaccountname/azurestorageaccountkey."""


class EnvironmentArgs(TypedDict):
    """score.py's Python dependencies, pip-installed by an init container at pod start."""

    pip_requirements: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Requirement lines (requirements.txt syntax)."""
    requirements_file: NotRequired[pulumi.Input[str]]
    """A requirements.txt path (relative to the program directory), read at deploy time."""
    index_url: NotRequired[pulumi.Input[str]]
    """Private package index (pip --index-url)."""


class IngressArgs(TypedDict):
    """Settings for exposure 'ingress'."""

    class_name: NotRequired[pulumi.Input[str]]
    """ingressClassName (default: webapprouting.kubernetes.azure.com, AKS app routing)."""
    host: NotRequired[pulumi.Input[str]]
    """Host name; unset = any host, URIs then use the ingress address."""
    tls_secret_name: NotRequired[pulumi.Input[str]]
    """Existing TLS Secret for the host; set = https URIs."""
    controller_namespace: NotRequired[pulumi.Input[str]]
    """Namespace of the ingress controller pods (default app-routing-system); the
    NetworkPolicy admits traffic from it."""


class GatewayParentRefArgs(TypedDict):
    """A Gateway the HTTPRoute attaches to."""

    name: pulumi.Input[str]
    """Gateway name."""
    namespace: NotRequired[pulumi.Input[str]]
    """Gateway namespace (default: the service's namespace)."""
    section_name: NotRequired[pulumi.Input[str]]
    """Listener name."""


class GatewayArgs(TypedDict):
    """Settings for exposure 'gateway' (Gateway API HTTPRoute)."""

    parent_refs: pulumi.Input[Sequence[pulumi.Input[GatewayParentRefArgs]]]
    """Gateways to attach to (at least one)."""
    hostnames: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """HTTPRoute hostnames; the first is used in the URIs."""
    https: NotRequired[pulumi.Input[bool]]
    """The listener terminates TLS: URIs use https."""
    gateway_namespace_for_traffic: NotRequired[pulumi.Input[str]]
    """Namespace of the gateway's data-plane pods (NetworkPolicy source; default: the first
    parentRef's namespace)."""


class ProxyArgs(TypedDict):
    """Settings for runtime_mode 'proxy' (bring your own model-server container)."""

    image: pulumi.Input[str]
    """Model-server image."""
    port: NotRequired[pulumi.Input[int]]
    """Port it listens on (default 8080)."""
    score_path: NotRequired[pulumi.Input[str]]
    """Its scoring path (default /score)."""
    swagger_path: NotRequired[pulumi.Input[str]]
    """Its swagger/OpenAPI path, if any."""
    args: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Container args for the model server."""


class KedaArgs(TypedDict):
    """Settings for autoscaler 'keda'."""

    prometheus_address: NotRequired[pulumi.Input[str]]
    """Prometheus server that scrapes the runtime's /metrics."""


class TolerationArgs(TypedDict):
    """A pod toleration."""

    key: NotRequired[pulumi.Input[str]]
    """Taint key."""
    operator: NotRequired[pulumi.Input[str]]
    """Equal (default) or Exists."""
    value: NotRequired[pulumi.Input[str]]
    """Taint value."""
    effect: NotRequired[pulumi.Input[str]]
    """NoSchedule, PreferNoSchedule or NoExecute."""


class AksWebserviceArgs(TypedDict):
    """Inputs of ``AksWebservice``: the v1 deploy configuration plus what runs and how it is
    reached. Everything is optional; the defaults are AML v1's documented ones."""

    # --- the AML v1 deploy configuration (AksWebservice.deploy_configuration keywords) ---
    deployment_config: NotRequired[pulumi.Input[Any]]
    """An AksServiceDeploymentConfiguration, or its AML v1 JSON (text or object, e.g. the
    content of deploymentconfig.json). Fields set below override it."""
    autoscale_enabled: NotRequired[pulumi.Input[bool]]
    """Autoscale (default True when num_replicas is unset)."""
    autoscale_min_replicas: NotRequired[pulumi.Input[int]]
    """Minimum replicas when autoscaling (default 1)."""
    autoscale_max_replicas: NotRequired[pulumi.Input[int]]
    """Maximum replicas when autoscaling (default 10)."""
    autoscale_refresh_seconds: NotRequired[pulumi.Input[int]]
    """Autoscaler polling interval in seconds (default 1; KEDA pollingInterval)."""
    autoscale_target_utilization: NotRequired[pulumi.Input[int]]
    """Target utilisation percent (default 70)."""
    collect_model_data: NotRequired[pulumi.Input[bool]]
    """Collect model inputs and predictions (default False)."""
    auth_enabled: NotRequired[pulumi.Input[bool]]
    """Key auth (default True)."""
    cpu_cores: NotRequired[pulumi.Input[float]]
    """CPU request in cores (default 0.1)."""
    memory_gb: NotRequired[pulumi.Input[float]]
    """Memory request in GiB (default 0.5 = 512Mi)."""
    enable_app_insights: NotRequired[pulumi.Input[bool]]
    """Application Insights telemetry (default False); needs app_insights_connection_string."""
    scoring_timeout_ms: NotRequired[pulumi.Input[int]]
    """Scoring timeout in ms (default 60000)."""
    replica_max_concurrent_requests: NotRequired[pulumi.Input[int]]
    """Concurrent run() calls per replica (default 1)."""
    max_request_wait_time: NotRequired[pulumi.Input[int]]
    """Queue wait in ms before a 503 (default 500)."""
    num_replicas: NotRequired[pulumi.Input[int]]
    """Fixed replica count (disables autoscaling). Default: unset, which turns autoscaling on."""
    primary_key: NotRequired[pulumi.Input[str]]
    """Primary auth key (default: generated with pulumi_random, stable across updates)."""
    secondary_key: NotRequired[pulumi.Input[str]]
    """Secondary auth key (default: generated)."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags (annotation aksml.io/tags; label-safe ones also as labels). Default: none."""
    properties: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Properties (annotation aksml.io/properties); add-only on update. Default: none."""
    description: NotRequired[pulumi.Input[str]]
    """Description (annotation aksml.io/description). Default: none."""
    gpu_cores: NotRequired[pulumi.Input[int]]
    """GPUs per replica (nvidia.com/gpu; default 0)."""
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
    namespace: NotRequired[pulumi.Input[str]]
    """Kubernetes namespace (default: default)."""
    token_auth_enabled: NotRequired[pulumi.Input[bool]]
    """Token (JWT) auth (default False)."""
    compute_target_name: NotRequired[pulumi.Input[str]]
    """Compute target name (annotation aksml.io/compute-target). Default: none."""
    cpu_cores_limit: NotRequired[pulumi.Input[float]]
    """CPU limit in cores (default: none)."""
    memory_gb_limit: NotRequired[pulumi.Input[float]]
    """Memory limit in GiB (default: none)."""
    blobfuse_enabled: NotRequired[pulumi.Input[bool]]
    """Mount blob-sourced models with the Azure Blob CSI driver (default True)."""

    # --- what runs ---
    image: NotRequired[pulumi.Input[str]]
    """Runtime image (default ghcr.io/aksml/aksml-runtime:<version>, built from Dockerfile)."""
    entry_script: NotRequired[pulumi.Input[str]]
    """score.py path, relative to source_directory when given (v1 InferenceConfig)."""
    source_directory: NotRequired[pulumi.Input[str]]
    """Directory shipped with the entry script (ConfigMap, at most 1 MiB)."""
    code_in_image: NotRequired[pulumi.Input[bool]]
    """The code is baked into the image: nothing is shipped, only the paths are set."""
    models: NotRequired[pulumi.Input[Sequence[pulumi.Input[ModelArgs]]]]
    """Models exposed under AZUREML_MODEL_DIR."""
    environment: NotRequired[pulumi.Input[EnvironmentArgs]]
    """pip dependencies installed at pod start (omit when the image has them)."""
    environment_variables: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Extra environment variables for the scoring (and model) container."""
    runtime_mode: NotRequired[pulumi.Input[RuntimeMode]]
    """in_process (default): the runtime runs score.py; proxy: it fronts a model container."""
    proxy: NotRequired[pulumi.Input[ProxyArgs]]
    """Proxy mode settings."""

    # --- how it is reached and scaled ---
    exposure: NotRequired[pulumi.Input[Exposure]]
    """cluster (default), load_balancer, ingress or gateway."""
    internal_load_balancer: NotRequired[pulumi.Input[bool]]
    """load_balancer on an internal Azure load balancer."""
    ingress: NotRequired[pulumi.Input[IngressArgs]]
    """Ingress settings."""
    gateway: NotRequired[pulumi.Input[GatewayArgs]]
    """Gateway API settings."""
    autoscaler: NotRequired[pulumi.Input[AutoscalerKind]]
    """hpa (default, CPU) or keda (in-flight requests, AML utilisation)."""
    keda: NotRequired[pulumi.Input[KedaArgs]]
    """KEDA settings."""
    skip_await: NotRequired[pulumi.Input[bool]]
    """Do not wait for the Deployment/Service/Ingress to become ready (URIs may then use the
    in-cluster DNS name)."""

    # --- placement and identity ---
    node_selector: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Pod nodeSelector (e.g. a GPU pool)."""
    tolerations: NotRequired[pulumi.Input[Sequence[pulumi.Input[TolerationArgs]]]]
    """Pod tolerations."""
    service_account_name: NotRequired[pulumi.Input[str]]
    """Service account (created when workload_identity_client_id is set)."""
    workload_identity_client_id: NotRequired[pulumi.Input[str]]
    """Entra ID client id for Azure workload identity."""
    image_pull_secrets: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Existing image pull Secrets."""
    create_namespace: NotRequired[pulumi.Input[bool]]
    """Create the namespace (restricted Pod Security labels) instead of referencing it."""
    token_issuer: NotRequired[pulumi.Input[str]]
    """Token auth: OIDC issuer."""
    token_audience: NotRequired[pulumi.Input[str]]
    """Token auth: expected audience."""
    app_insights_connection_string: NotRequired[pulumi.Input[str]]
    """Application Insights connection string (kept in a Secret)."""
    data_collection_blob_url: NotRequired[pulumi.Input[str]]
    """collect_model_data sink: Azure Blob container URL (default: a pod-local volume)."""
    # --- Azure integration (the 'azure' extra) ---
    azure: NotRequired[AzureArgs]
    """Create and wire the service's Azure resources (see docs/azure.md): the AKS cluster's
    Kubernetes provider, App Insights, uploaded models and the modeldata container in a
    key-less storage account, and workload identity."""
