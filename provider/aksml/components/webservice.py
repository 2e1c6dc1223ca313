"""``AksWebservice``: an Azure ML v1 AKS web service as a Pulumi ComponentResource.

Thin by design: arguments -> ``aksml.v1`` (v1 validation and defaults) -> ``aksml.plan``
(Kubernetes objects as plain dicts) -> one pulumi_kubernetes resource per object, each with
``parent=self`` and a child name derived from the service name. Keys come from
``pulumi_random`` unless given; URIs are built with guarded applies so a load balancer
without an address (or ``skip_await``) never crashes the program.
"""

import json
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from aksml import v1
from aksml.components.args import AksWebserviceArgs
from aksml.errors import WebserviceException
from aksml.plan import ROLE_LABEL, placeholder, plan_webservice
from aksml.plan.inputs import settings_from_args
from aksml.plan.settings import WorkloadSettings
from aksml.plan.uris import address_source, service_uris
from aksml.plan.webservice import PRIMARY_KEY_FIELD, SECONDARY_KEY_FIELD, namespace_of
from aksml.v1.resolved import ResolvedServiceConfig

TYPE_TOKEN = "aksml:index:AksWebservice"
"""The component's Pulumi type token."""

KEY_LENGTH = 32
"""Length of generated keys (letters and digits, like AML's)."""

DEFERRABLE_ARGS: tuple[str, ...] = (
    "primary_key",
    "secondary_key",
    "image",
    "workload_identity_client_id",
    "app_insights_connection_string",
    "data_collection_blob_url",
    "token_issuer",
    "token_audience",
)
"""String arguments that may be Outputs (their value is substituted at deploy time)."""

SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait"
"""pulumi-kubernetes: do not wait for readiness."""

_SKIP_AWAIT_KINDS = frozenset({"Deployment", "Service", "Ingress"})

_RESOURCE_TYPES: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
}

# snake_case constructor keyword for each top-level camelCase field
_TOP_FIELDS = {
    "stringData": "string_data",
    "binaryData": "binary_data",
    "automountServiceAccountToken": "automount_service_account_token",
}


def _is_output(value: Any) -> bool:
    return isinstance(value, pulumi.Output)


def _plain_args(
    args: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, pulumi.Output[Any]]]:
    """(args with deferrable Outputs replaced by placeholders, placeholder -> Output)."""
    plain: dict[str, Any] = {}
    deferred: dict[str, pulumi.Output[Any]] = {}
    for key, value in args.items():
        if _is_output(value):
            if key not in DEFERRABLE_ARGS:
                raise WebserviceException(
                    f"Error, AksWebservice argument {key!r} must be a plain value, not an "
                    "Output: it decides which Kubernetes objects are created. Outputs are "
                    f"accepted for: {', '.join(DEFERRABLE_ARGS)}."
                )
            plain[key] = placeholder(key)
            deferred[placeholder(key)] = value
        else:
            plain[key] = value
    return plain, deferred


def _substitute(value: Any, outputs: Mapping[str, pulumi.Output[Any]]) -> Any:
    """``value`` with every placeholder token replaced by its Output (strings become Outputs)."""
    if isinstance(value, dict):
        return {k: _substitute(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, outputs) for v in value]
    if isinstance(value, str):
        tokens = [t for t in outputs if t in value]
        if not tokens:
            return value

        def fill(resolved: list[Any], text: str = value) -> str:
            for token, actual in zip(tokens, resolved, strict=True):
                text = text.replace(token, str(actual))
            return text

        return pulumi.Output.all(*[outputs[t] for t in tokens]).apply(fill)
    return value


def _first_address(status: Any) -> str | None:
    """The first load-balancer IP or hostname in a Service/Ingress status, if any (guarded:
    no status, no loadBalancer and an empty ingress list all give None)."""
    balancer = getattr(status, "load_balancer", None) if status is not None else None
    entries = getattr(balancer, "ingress", None) if balancer is not None else None
    if not entries:
        return None
    first = entries[0]
    address = getattr(first, "ip", None) or getattr(first, "hostname", None)
    return str(address) if address else None


def _deployment_status(status: Any, desired: int | None) -> dict[str, Any]:
    """v1 ``deploymentStatus`` from a Deployment status (guarded)."""
    if status is None:
        return {
            "desiredReplicas": desired,
            "updatedReplicas": None,
            "availableReplicas": None,
            "error": None,
        }
    return {
        "desiredReplicas": desired if desired is not None else getattr(status, "replicas", None),
        "updatedReplicas": getattr(status, "updated_replicas", None),
        "availableReplicas": getattr(status, "available_replicas", None),
        "error": None,
    }


def _state(status: dict[str, Any]) -> str:
    available = status.get("availableReplicas") or 0
    return "Healthy" if available > 0 else "Transitioning"


def key_output(
    name: str,
    field: str,
    plain: Mapping[str, Any],
    deferred: Mapping[str, pulumi.Output[Any]],
    opts: pulumi.ResourceOptions,
    resources: dict[str, pulumi.CustomResource],
) -> pulumi.Output[str]:
    """A key as a secret Output: the given Output, the given value, or a ``RandomPassword``
    child named ``<name>-<field>`` (recorded in ``resources``), stable across updates."""
    token = placeholder(field)
    if token in deferred:
        return pulumi.Output.secret(deferred[token])
    if plain.get(field):
        return pulumi.Output.secret(str(plain[field]))
    child_name = f"{name}-{field.replace('_', '-')}"
    password = random.RandomPassword(child_name, length=KEY_LENGTH, special=False, opts=opts)
    resources[f"RandomPassword/{child_name}"] = password
    return password.result


def emit_object(
    child_name: str,
    obj: dict[str, Any],
    outputs: Mapping[str, pulumi.Output[Any]],
    skip_await: bool,
    opts: pulumi.ResourceOptions,
) -> pulumi.CustomResource:
    """One planned object as its pulumi_kubernetes resource (a CustomResource for kinds the
    SDK has no class for), with deploy-time placeholders replaced by their Outputs."""
    body = _substitute(obj, outputs)
    if skip_await and obj["kind"] in _SKIP_AWAIT_KINDS:
        body["metadata"].setdefault("annotations", {})[SKIP_AWAIT_ANNOTATION] = "true"
    fields = {_TOP_FIELDS.get(k, k): v for k, v in body.items() if k not in ("apiVersion", "kind")}
    factory = _RESOURCE_TYPES.get((obj["apiVersion"], obj["kind"]))
    if factory is None:
        return k8s.apiextensions.CustomResource(
            child_name, api_version=obj["apiVersion"], kind=obj["kind"], opts=opts, **fields
        )
    return factory(child_name, opts=opts, **fields)


class AksWebservice(pulumi.ComponentResource):
    """An authenticated, autoscaled scoring endpoint on Kubernetes: Azure ML v1's
    AksWebservice (same deploy settings, defaults and validation) as Pulumi resources."""

    deploy_configuration = staticmethod(v1.deploy_configuration)
    """v1 call site: ``aksml.AksWebservice.deploy_configuration(cpu_cores=..., ...)``."""

    scoring_uri: pulumi.Output[str]
    """http(s)://<address>/api/v1/service/<name>/score (in-cluster DNS until an external
    address exists)."""
    swagger_uri: pulumi.Output[str]
    """The scoring URI with /score replaced by /swagger.json."""
    primary_key: pulumi.Output[str]
    """Primary auth key (secret)."""
    secondary_key: pulumi.Output[str]
    """Secondary auth key (secret)."""
    namespace: pulumi.Output[str]
    """Kubernetes namespace of the service."""
    service_name: pulumi.Output[str]
    """Name of the Deployment and Service (the service name)."""
    deployment_status: pulumi.Output[str]
    """JSON {desiredReplicas, updatedReplicas, availableReplicas, error} (v1 deploymentStatus)."""
    serialized: pulumi.Output[str]
    """The v1 AksWebservice.serialize() document as JSON."""

    def __init__(
        self, name: str, args: AksWebserviceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.resources: dict[str, pulumi.CustomResource] = {}
        """Every child resource by ``<Kind>/<metadata.name>`` (``RandomPassword/<name>``)."""
        azure = args.get("azure")
        plain, deferred = _plain_args({k: v for k, v in args.items() if k != "azure"})
        child = pulumi.ResourceOptions(parent=self)
        self.azure: Any = None
        """The ``AzureServiceResources`` child when the ``azure`` section is given."""
        if azure is not None:
            from aksml.azure.wiring import attach_azure  # the 'azure' extra

            self.azure, child = attach_azure(self, name, azure, plain, deferred)
        config, workload = settings_from_args(plain)
        resolved = config.resolve()
        objects = plan_webservice(name, resolved, workload)

        primary = key_output(name, PRIMARY_KEY_FIELD, plain, deferred, child, self.resources)
        secondary = key_output(name, SECONDARY_KEY_FIELD, plain, deferred, child, self.resources)
        outputs = {
            **deferred,
            placeholder(PRIMARY_KEY_FIELD): primary,
            placeholder(SECONDARY_KEY_FIELD): secondary,
        }
        skip_await = bool(plain.get("skip_await"))
        for obj in objects:
            resource = emit_object(
                f"{name}-{obj['metadata']['labels'][ROLE_LABEL]}", obj, outputs, skip_await, child
            )
            self.resources[f"{obj['kind']}/{obj['metadata']['name']}"] = resource

        self.scoring_uri, self.swagger_uri = self._uris(name, resolved, workload)
        self.primary_key = pulumi.Output.secret(primary)
        self.secondary_key = pulumi.Output.secret(secondary)
        self.namespace = pulumi.Output.from_input(namespace_of(resolved))
        self.service_name = pulumi.Output.from_input(name)
        status = self._status(name, resolved)
        self.deployment_status = status.apply(json.dumps)
        serialized = config.serialize(name)
        self.serialized = pulumi.Output.all(self.scoring_uri, status).apply(
            lambda pair: json.dumps(
                {
                    **serialized,
                    "scoringUri": pair[0],
                    "state": _state(pair[1]),
                    "deploymentStatus": pair[1],
                }
            )
        )
        self.register_outputs(
            {
                "scoring_uri": self.scoring_uri,
                "swagger_uri": self.swagger_uri,
                "primary_key": self.primary_key,
                "secondary_key": self.secondary_key,
                "namespace": self.namespace,
                "service_name": self.service_name,
                "deployment_status": self.deployment_status,
                "serialized": self.serialized,
            }
        )

    def _find(self, kind: str) -> Any:
        for key, resource in self.resources.items():
            if key.startswith(f"{kind}/"):
                return resource
        return None

    def _uris(
        self, name: str, resolved: ResolvedServiceConfig, workload: WorkloadSettings
    ) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        source = address_source(workload)
        resource = self._find(source) if source else None
        if resource is None:
            scoring, swagger = service_uris(name, resolved, workload, None)
            return pulumi.Output.from_input(scoring), pulumi.Output.from_input(swagger)
        address: pulumi.Output[str | None] = resource.status.apply(_first_address)
        uris = address.apply(lambda a: service_uris(name, resolved, workload, a))
        return uris.apply(lambda u: u[0]), uris.apply(lambda u: u[1])

    def _status(self, name: str, resolved: ResolvedServiceConfig) -> pulumi.Output[dict[str, Any]]:
        deployment = self._find("Deployment")
        desired = None if resolved.autoscale_enabled else resolved.num_replicas
        status: pulumi.Output[dict[str, Any]] = deployment.status.apply(
            lambda s: _deployment_status(s, desired)
        )
        return status
