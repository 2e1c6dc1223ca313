"""``AksEndpoint``: Azure ML v1's controlled-rollout endpoint (versions, control/treatment,
weighted traffic) as a Pulumi ComponentResource, on Gateway API or ingress-nginx routing.

Thin: arguments -> ``aksml.plan.endpoint`` (v1 validation per version, traffic resolution,
routing objects) -> one pulumi_kubernetes resource per object, children of this component.
One key pair (``pulumi_random`` unless given) is shared by every version.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from aksml import v1
from aksml.components.emit import defer_outputs, emit_objects, first_address, key_outputs
from aksml.components.endpoint_args import AksEndpointArgs
from aksml.errors import WebserviceException
from aksml.plan import ROLE_LABEL
from aksml.plan.endpoint import (
    ENDPOINT_LABEL,
    VERSION_LABEL,
    EndpointPlanInput,
    address_kind,
    endpoint_configurations_from_args,
    endpoint_input_from_args,
    endpoint_serialized,
    endpoint_traffic,
    endpoint_uris,
    plan_endpoint,
)

TYPE_TOKEN = "aksml:index:AksEndpoint"
"""The component's Pulumi type token."""

ENDPOINT_DEFERRABLE_ARGS: tuple[str, ...] = (
    "primary_key",
    "secondary_key",
    "token_issuer",
    "token_audience",
    "app_insights_connection_string",
)
"""Endpoint-level string arguments that may be Outputs."""

VERSION_DEFERRABLE_ARGS: tuple[str, ...] = (
    "image",
    "workload_identity_client_id",
    "data_collection_blob_url",
)
"""Per-version string arguments that may be Outputs."""


def plain_endpoint_args(
    args: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, pulumi.Output[Any]]]:
    """(args with deferrable Outputs replaced by placeholders, placeholder -> Output)."""
    deferred: dict[str, pulumi.Output[Any]] = {}
    plain = defer_outputs("AksEndpoint", args, ENDPOINT_DEFERRABLE_ARGS, deferred)
    versions = plain.get("versions")
    if isinstance(versions, pulumi.Output):
        raise WebserviceException(
            "Error, AksEndpoint versions must be a plain list, not an Output: they decide "
            "which Kubernetes objects are created."
        )
    if isinstance(versions, Sequence) and not isinstance(versions, str | bytes):
        plain["versions"] = [
            defer_outputs(
                "AksEndpoint",
                v,
                VERSION_DEFERRABLE_ARGS,
                deferred,
                where=f"version {index} ",
                prefix=f"versions.{index}.",
            )
            if isinstance(v, Mapping)
            else v
            for index, v in enumerate(versions)
        ]
    return plain, deferred


class AksEndpoint(pulumi.ComponentResource):
    """Several versions of a model behind one scoring URI: Azure ML v1's AksEndpoint
    (traffic_percentile, default and control versions) with header pinning, per-version paths
    and shadow traffic, on Gateway API (or ingress-nginx canary)."""

    deploy_configuration = staticmethod(v1.endpoint_deploy_configuration)
    """v1 call site: ``aksml.AksEndpoint.deploy_configuration(version_name=..., ...)``."""

    scoring_uri: pulumi.Output[str]
    """The endpoint's scoring URI: <scheme>://<host>/api/v1/service/<endpoint>/score (split
    by traffic_percentile)."""
    swagger_uri: pulumi.Output[str]
    """The endpoint's swagger URI."""
    version_uris: pulumi.Output[str]
    """JSON {version: {scoring_uri, swagger_uri}}: each version's own URIs."""
    traffic: pulumi.Output[str]
    """JSON {version: percent}: the resolved traffic split (sums to 100)."""
    default_version: pulumi.Output[str]
    """The default version (receives the traffic the others leave)."""
    control_version: pulumi.Output[str]
    """The control version."""
    primary_key: pulumi.Output[str]
    """Primary auth key shared by every version (secret)."""
    secondary_key: pulumi.Output[str]
    """Secondary auth key shared by every version (secret)."""
    namespace: pulumi.Output[str]
    """Kubernetes namespace of the endpoint."""
    serialized: pulumi.Output[str]
    """The v1 AksEndpoint.serialize() document as JSON."""

    def __init__(
        self, name: str, args: AksEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # validate and plan before registering: an invalid endpoint registers nothing
        azure = args.get("azure")
        plain, deferred = plain_endpoint_args({k: v for k, v in args.items() if k != "azure"})
        skip_await = bool(plain.pop("skip_await", False))
        checked = endpoint_configurations_from_args(name, plain)
        # with the azure section the plan waits for the Azure outputs it depends on
        data = None if azure is not None else endpoint_input_from_args(name, plain, None, checked)
        objects = [] if data is None else plan_endpoint(data)
        super().__init__(TYPE_TOKEN, name, None, opts)
        self.resources: dict[str, pulumi.CustomResource] = {}
        """Every child resource by ``<Kind>/<metadata.name>`` (``RandomPassword/<name>``)."""
        child = pulumi.ResourceOptions(parent=self)
        self.azure: Any = None
        """The ``AzureServiceResources`` child shared by every version, when ``azure`` is given."""
        if azure is not None:
            from aksml.azure.wiring import attach_azure_endpoint  # the 'azure' extra

            self.azure, child = attach_azure_endpoint(self, name, azure, plain, deferred, checked)
            data = endpoint_input_from_args(name, plain, None, checked)
            objects = plan_endpoint(data)
        assert data is not None  # planned above, with or without the azure section
        primary, secondary, outputs = key_outputs(name, plain, deferred, child, self.resources)
        emit_objects(
            objects,
            lambda obj: self._child_name(name, obj),
            outputs,
            skip_await,
            child,
            self.resources,
        )
        uris = self._uris(data)
        self.scoring_uri = uris.apply(lambda u: u[0])
        self.swagger_uri = uris.apply(lambda u: u[1])
        self.version_uris = uris.apply(lambda u: json.dumps(u[2], sort_keys=True))
        traffic = endpoint_traffic(data)
        self.traffic = pulumi.Output.from_input(json.dumps(traffic))
        self.default_version = pulumi.Output.from_input(data.default_version)
        self.control_version = pulumi.Output.from_input(data.control_version)
        self.primary_key = pulumi.Output.secret(primary)
        self.secondary_key = pulumi.Output.secret(secondary)
        self.namespace = pulumi.Output.from_input(data.namespace)
        self.serialized = uris.apply(
            lambda u: json.dumps(endpoint_serialized(data, u[0], u[2]), sort_keys=False)
        )
        self.register_outputs(
            {
                "scoring_uri": self.scoring_uri,
                "swagger_uri": self.swagger_uri,
                "version_uris": self.version_uris,
                "traffic": self.traffic,
                "default_version": self.default_version,
                "control_version": self.control_version,
                "primary_key": self.primary_key,
                "secondary_key": self.secondary_key,
                "namespace": self.namespace,
                "serialized": self.serialized,
            }
        )

    @staticmethod
    def _child_name(name: str, obj: dict[str, Any]) -> str:
        """``<endpoint>-<version>-<role>`` for version objects, ``<endpoint>-<role>`` otherwise."""
        labels = obj["metadata"]["labels"]
        version = labels.get(VERSION_LABEL)
        base = f"{labels[ENDPOINT_LABEL]}-{version}" if version else name
        return f"{base}-{labels[ROLE_LABEL]}"

    def _uris(
        self, data: EndpointPlanInput
    ) -> pulumi.Output[tuple[str, str, dict[str, dict[str, str]]]]:
        kind = address_kind(data)
        resource = self.resources.get(f"{kind}/{data.name}") if kind else None
        if resource is None:
            return pulumi.Output.from_input(endpoint_uris(data, None))
        address: pulumi.Output[str | None] = resource.status.apply(first_address)  # type: ignore[attr-defined]
        return address.apply(lambda a: endpoint_uris(data, a))
