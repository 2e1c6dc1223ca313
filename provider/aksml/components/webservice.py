"""``AksWebservice``: an Azure ML v1 AKS web service as a Pulumi ComponentResource.

Thin by design: arguments -> ``aksml.v1`` (v1 validation and defaults) -> ``aksml.plan``
(Kubernetes objects as plain dicts) -> one pulumi_kubernetes resource per object, each with
``parent=self`` and a child name derived from the service name. Keys come from
``pulumi_random`` unless given; URIs are built with guarded applies so a load balancer
without an address (or ``skip_await``) never crashes the program.
"""

import json
from typing import Any

import pulumi

from aksml import v1
from aksml.components.args import AksWebserviceArgs
from aksml.components.emit import defer_outputs, emit_objects, first_address, key_outputs
from aksml.plan import ROLE_LABEL, plan_webservice
from aksml.plan.inputs import v1_configuration, workload_from
from aksml.plan.metadata import namespace_of
from aksml.plan.settings import WorkloadSettings
from aksml.plan.uris import address_source, service_uris
from aksml.v1.names import validate_service_name
from aksml.v1.resolved import ResolvedServiceConfig

TYPE_TOKEN = "aksml:index:AksWebservice"
"""The component's Pulumi type token."""

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
        deferred: dict[str, pulumi.Output[Any]] = {}
        plain = defer_outputs(
            "AksWebservice",
            {k: v for k, v in args.items() if k != "azure"},
            DEFERRABLE_ARGS,
            deferred,
        )
        child = pulumi.ResourceOptions(parent=self)
        self.azure: Any = None
        """The ``AzureServiceResources`` child when the ``azure`` section is given."""
        if azure is not None:
            validate_service_name(name)  # before any Azure resource is registered
        config = v1_configuration(plain)
        resolved = config.resolve()
        if azure is not None:
            from aksml.azure.wiring import attach_azure  # the 'azure' extra

            self.azure, child = attach_azure(self, name, azure, plain, deferred, resolved)
        workload = workload_from(plain)
        objects = plan_webservice(name, resolved, workload)

        primary, secondary, outputs = key_outputs(name, plain, deferred, child, self.resources)
        emit_objects(
            objects,
            lambda obj: f"{name}-{obj['metadata']['labels'][ROLE_LABEL]}",
            outputs,
            bool(plain.get("skip_await")),
            child,
            self.resources,
        )

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
        address: pulumi.Output[str | None] = resource.status.apply(first_address)
        uris = address.apply(lambda a: service_uris(name, resolved, workload, a))
        return uris.apply(lambda u: u[0]), uris.apply(lambda u: u[1])

    def _status(self, name: str, resolved: ResolvedServiceConfig) -> pulumi.Output[dict[str, Any]]:
        deployment = self._find("Deployment")
        desired = None if resolved.autoscale_enabled else resolved.num_replicas
        status: pulumi.Output[dict[str, Any]] = deployment.status.apply(
            lambda s: _deployment_status(s, desired)
        )
        return status
