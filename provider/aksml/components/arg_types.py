"""The nested argument types of ``AksWebservice`` and ``AksEndpoint`` (models, environment,
exposure, proxy, KEDA, tolerations, timeouts), written by hand.

Every field is ``pulumi.Input[T]`` (``NotRequired`` unless the type needs it) with a docstring
(it becomes the schema's description). The top-level argument TypedDicts are generated from the
parameter tables into ``args_generated.py``; import everything from ``aksml.components.args``.
"""

from collections.abc import Sequence
from typing import NotRequired, TypedDict

import pulumi

from aksml.plan.settings import ModelSource

__all__ = [
    "EnvironmentArgs",
    "GatewayArgs",
    "GatewayParentRefArgs",
    "IngressArgs",
    "KedaArgs",
    "ModelArgs",
    "ProxyArgs",
    "TimeoutsArgs",
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


class TimeoutsArgs(TypedDict):
    """Pulumi custom timeouts: durations such as "10m", "90s" or "1h30m"."""

    create: NotRequired[str]
    """Wait at most this long when the object is created."""
    update: NotRequired[str]
    """Wait at most this long when the object is updated."""
    delete: NotRequired[str]
    """Wait at most this long when the object is deleted."""
