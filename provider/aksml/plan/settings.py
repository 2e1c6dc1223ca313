"""Workload settings: everything an ``AksWebservice`` needs beyond the AML v1 deploy configuration.

The v1 settings (``ResolvedServiceConfig``) say how big, how many and how authenticated a
service is; these say what runs (image, code, models, Python environment), how it is reached
(exposure) and where it is placed. Pure pydantic models: no Pulumi, no Kubernetes client.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from aksml import __version__

RUNTIME_IMAGE_REPOSITORY = "ghcr.io/aksml/aksml-runtime"
"""Where ``.github/workflows/release.yml`` publishes the runtime image on a version tag."""

DEFAULT_IMAGE = f"{RUNTIME_IMAGE_REPOSITORY}:{__version__}"
"""The runtime image built from the repository's Dockerfile (``aksml serve`` as entry point),
tagged with the package version (pyproject.toml) by the release workflow."""

DEFAULT_INGRESS_CLASS = "webapprouting.kubernetes.azure.com"
"""AKS application routing add-on (managed NGINX)."""

DEFAULT_INGRESS_CONTROLLER_NAMESPACE = "app-routing-system"
"""Namespace of the AKS application routing add-on's controller pods."""

DEFAULT_PROMETHEUS_ADDRESS = "http://prometheus-server.monitoring.svc.cluster.local:9090"
"""Prometheus that scrapes the runtime's /metrics, queried by KEDA in ``keda`` autoscaler mode."""


class Exposure(StrEnum):
    """How clients reach the service."""

    CLUSTER = "cluster"
    """ClusterIP Service only: reachable inside the cluster."""
    LOAD_BALANCER = "load_balancer"
    """Service of type LoadBalancer (public, or internal with ``internal_load_balancer``)."""
    INGRESS = "ingress"
    """networking.k8s.io/v1 Ingress (default class: AKS application routing)."""
    GATEWAY = "gateway"
    """Gateway API HTTPRoute attached to an existing Gateway."""


class RuntimeMode(StrEnum):
    """What serves the requests inside the pod."""

    IN_PROCESS = "in_process"
    """The aksml runtime loads score.py (init()/run()) in its own process."""
    PROXY = "proxy"
    """The aksml runtime fronts a model-server container in the same pod (bring your own)."""


class AutoscalerKind(StrEnum):
    """Which autoscaler scales the Deployment when ``autoscale_enabled``."""

    HPA = "hpa"
    """HorizontalPodAutoscaler on CPU utilisation."""
    KEDA = "keda"
    """KEDA ScaledObject on the runtime's in-flight requests (AML utilisation semantics)."""


class ModelSource(StrEnum):
    """Where a model's files come from."""

    IMAGE = "image"
    """Already in the image under ``azureml-models/<name>/<version>``."""
    URL = "url"
    """An https URL (Azure Blob with SAS, or any file server) fetched by an init container."""
    BLOB = "blob"
    """An Azure Blob URL: mounted by the Azure Blob CSI driver when ``blobfuse_enabled``,
    fetched by the init container otherwise."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelRef(_Frozen):
    """One registered model the scoring code loads from ``AZUREML_MODEL_DIR``."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
    """Model name (the directory under azureml-models)."""
    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    """Model version (the directory under the model name)."""
    source: ModelSource = ModelSource.IMAGE
    """Where the files come from."""
    url: str | None = None
    """File URL (``url`` source) or blob URL ``https://<account>.blob.core.windows.net/<container>/<path>``
    (``blob`` source)."""
    storage_secret_name: str | None = None
    """Blob CSI only: an existing Secret with ``azurestorageaccountname`` and
    ``azurestorageaccountkey``; without it the driver mounts with the pod's workload identity
    (when ``workload_identity_client_id`` is set) or the kubelet identity."""


class EnvironmentSpec(_Frozen):
    """The score.py's Python dependencies, pip-installed at pod start into the packages volume."""

    pip_requirements: tuple[str, ...] = ()
    """Requirement lines (requirements.txt syntax)."""
    index_url: str | None = None
    """A private package index (pip --index-url)."""


class IngressSpec(_Frozen):
    """Ingress exposure settings."""

    class_name: str = DEFAULT_INGRESS_CLASS
    """ingressClassName."""
    host: str | None = None
    """Host name; None = any host (URIs then use the ingress address)."""
    tls_secret_name: str | None = None
    """Existing TLS Secret for ``host``; set = https URIs."""
    controller_namespace: str = DEFAULT_INGRESS_CONTROLLER_NAMESPACE
    """Namespace of the ingress controller pods (the NetworkPolicy admits traffic from it)."""


class GatewayParentRef(_Frozen):
    """A Gateway the HTTPRoute attaches to."""

    name: str
    """Gateway name."""
    namespace: str | None = None
    """Gateway namespace; None = the service's namespace."""
    section_name: str | None = None
    """Listener name on the Gateway."""


class GatewaySpec(_Frozen):
    """Gateway API exposure settings."""

    parent_refs: tuple[GatewayParentRef, ...] = Field(min_length=1)
    """Gateways to attach to."""
    hostnames: tuple[str, ...] = ()
    """HTTPRoute hostnames; the first one is used in the URIs."""
    https: bool = False
    """The listener terminates TLS: URIs use https."""
    gateway_namespace_for_traffic: str | None = None
    """Namespace of the gateway's data-plane pods (NetworkPolicy source); None = the first
    parentRef's namespace."""


class ProxySpec(_Frozen):
    """Proxy mode: the user's model-server container beside the runtime."""

    image: str
    """Model-server image."""
    port: int = Field(default=8080, ge=1, le=65535)
    """Port the model server listens on (loopback is enough)."""
    score_path: str = "/score"
    """Upstream scoring path."""
    swagger_path: str | None = None
    """Upstream swagger path, if it has one."""
    args: tuple[str, ...] = ()
    """Container args for the model server (its image's entrypoint runs them)."""


class KedaSpec(_Frozen):
    """KEDA autoscaler settings."""

    prometheus_address: str = DEFAULT_PROMETHEUS_ADDRESS
    """Prometheus server KEDA queries for the runtime's in-flight metric."""


class Toleration(_Frozen):
    """A pod toleration (for GPU or dedicated node pools)."""

    key: str | None = None
    """Taint key."""
    operator: str = "Equal"
    """Equal or Exists."""
    value: str | None = None
    """Taint value (Equal)."""
    effect: str | None = None
    """NoSchedule, PreferNoSchedule or NoExecute; None = all."""


class CodeBundle(_Frozen):
    """Scoring code shipped in a ConfigMap (when not baked into the image)."""

    directory_name: str
    """Basename of the source directory (AZUREML_SOURCE_DIRECTORY)."""
    files: dict[str, bytes]
    """Relative POSIX path -> content, every file of the source directory."""


@dataclass(frozen=True)
class EndpointLevel:
    """Marks a :class:`WorkloadSettings` field an ``AksEndpoint`` sets once for every version
    (an ``AksEndpointArgs`` field, not an ``AksEndpointVersionArgs`` one)."""

    doc: str = ""
    """Its description on ``AksEndpointArgs`` when it differs from the field's docstring."""


class WorkloadSettings(_Frozen):
    """Everything beyond the v1 deploy configuration; defaults are the documented ones.

    The table of beyond-v1 settings: every field but ``code`` is a component argument of
    ``AksWebservice`` and, per version or (marked :class:`EndpointLevel`) per endpoint, of
    ``AksEndpoint``. ``scripts/generate`` writes those TypedDict fields from the field's type
    and docstring (the docstring is the provider schema's description)."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    image: str = DEFAULT_IMAGE
    """Runtime image (default ghcr.io/aksml/aksml-runtime:<version>, built from Dockerfile)."""
    # None: the image's own AZUREML_ENTRY_SCRIPT; with the code in the image, the path is
    # relative to the app root
    entry_script: str | None = None
    """score.py path, relative to source_directory when given (v1 InferenceConfig)."""
    code: CodeBundle | None = None
    """Code to ship in a ConfigMap; None = baked into the image. Built from ``entry_script`` and
    the ``source_directory`` argument (not an argument itself)."""
    models: tuple[ModelRef, ...] = ()
    """Models exposed under AZUREML_MODEL_DIR."""
    environment: EnvironmentSpec | None = None
    """pip dependencies installed at pod start (omit when the image has them)."""
    environment_variables: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables for the scoring (and model) container."""
    exposure: Annotated[
        Exposure,
        EndpointLevel(
            "gateway (weights, pinning, per-version paths, shadow) or ingress (ingress-nginx "
            "canary, two versions); cluster and load_balancer only when a single version gets "
            "traffic."
        ),
    ] = Exposure.CLUSTER
    """cluster (default), load_balancer, ingress or gateway."""
    internal_load_balancer: Annotated[bool, EndpointLevel()] = False
    """load_balancer on an internal Azure load balancer."""
    ingress: Annotated[IngressSpec, EndpointLevel("Ingress settings (ingress-nginx class).")] = (
        IngressSpec()
    )
    """Ingress settings."""
    gateway: Annotated[GatewaySpec | None, EndpointLevel()] = None
    """Gateway API settings."""
    runtime_mode: RuntimeMode = RuntimeMode.IN_PROCESS
    """in_process (default): the runtime runs score.py; proxy: it fronts a model container."""
    proxy: ProxySpec | None = None
    """Proxy mode settings."""
    autoscaler: AutoscalerKind = AutoscalerKind.HPA
    """hpa (default, CPU) or keda (in-flight requests, AML utilisation)."""
    keda: KedaSpec = KedaSpec()
    """KEDA settings."""
    node_selector: dict[str, str] = Field(default_factory=dict)
    """Pod nodeSelector (e.g. a GPU pool)."""
    tolerations: tuple[Toleration, ...] = ()
    """Pod tolerations."""
    priority_class_name: str | None = None
    """Pod priorityClassName: an existing PriorityClass, so the scheduler places these pods
    before (and may preempt) lower-priority ones. Default: none (the cluster's default class)."""
    service_account_name: str | None = None
    """Service account (created when workload_identity_client_id is set)."""
    workload_identity_client_id: str | None = None
    """Entra ID client id for Azure workload identity."""
    image_pull_secrets: tuple[str, ...] = ()
    """Existing image pull Secrets."""
    create_namespace: Annotated[bool, EndpointLevel()] = False
    """Create the namespace (restricted Pod Security labels) instead of referencing it."""
    token_issuer: Annotated[str | None, EndpointLevel()] = None
    """Token auth: OIDC issuer."""
    token_audience: Annotated[str | None, EndpointLevel()] = None
    """Token auth: expected audience."""
    app_insights_connection_string: Annotated[str | None, EndpointLevel()] = None
    """Application Insights connection string (kept in a Secret)."""
    data_collection_blob_url: str | None = None
    """collect_model_data sink: Azure Blob container URL (default: a pod-local volume)."""


def endpoint_level(name: str) -> EndpointLevel | None:
    """The :class:`EndpointLevel` mark of :class:`WorkloadSettings` field ``name``, if any."""
    return next(
        (m for m in WorkloadSettings.model_fields[name].metadata if isinstance(m, EndpointLevel)),
        None,
    )
