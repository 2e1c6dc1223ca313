"""Access to an AKS cluster: its resource id, OIDC issuer and a Kubernetes provider built from
its user credentials (``listManagedClusterUserCredentials``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import containerservice

from aksml.azure import image, naming
from aksml.errors import WebserviceException

_IssuerProfile = containerservice.outputs.ManagedClusterOIDCIssuerProfileResponse


@dataclass(frozen=True)
class ClusterRef:
    """An AKS cluster, named or given as a resource: what the integration needs from it."""

    name: pulumi.Output[str]
    """The managed cluster's name (v1 ``compute_target_name``)."""
    resource_group_name: pulumi.Output[str]
    """The cluster's resource group."""
    id: pulumi.Output[str]
    """The cluster's Azure resource id: the Kubernetes provider's ``cluster_identifier``."""
    oidc_issuer_url: pulumi.Output[str]
    """The cluster's service-account token issuer (``oidcIssuerProfile.issuerURL``)."""
    identity_profile: pulumi.Output[Mapping[str, Any] | None]
    """The cluster's ``identityProfile`` (``kubeletidentity``: the identity nodes pull images
    with); read through ``kubelet_object_id``."""

    def kubelet_object_id(self) -> pulumi.Output[str]:
        """Object id of the kubelet identity (an error when the cluster has none)."""
        return self.identity_profile.apply(image.kubelet_object_id)


def _issuer_url(
    profile: containerservice.outputs.ManagedClusterOIDCIssuerProfileResponse | None,
) -> str:
    return naming.oidc_issuer(profile.issuer_url if profile is not None else None)


def cluster_from_resource(cluster: containerservice.ManagedCluster) -> ClusterRef:
    """The reference for a ``ManagedCluster`` in the same program (possibly still unknown in
    preview); the resource group comes from the cluster's id."""
    return ClusterRef(
        name=cluster.name,
        resource_group_name=cluster.id.apply(naming.resource_group_of),
        id=cluster.id,
        oidc_issuer_url=cluster.oidc_issuer_profile.apply(_issuer_url),
        identity_profile=cluster.identity_profile,
    )


def cluster_from_name(
    compute_target_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    opts: pulumi.InvokeOutputOptions | None = None,
) -> ClusterRef:
    """The reference for an existing cluster named like AML v1's ``compute_target_name``
    (``getManagedCluster`` reads its id and OIDC issuer)."""
    found = containerservice.get_managed_cluster_output(
        resource_group_name=resource_group_name, resource_name=compute_target_name, opts=opts
    )
    return ClusterRef(
        name=pulumi.Output.from_input(compute_target_name),
        resource_group_name=pulumi.Output.from_input(resource_group_name),
        id=found.id,
        oidc_issuer_url=found.oidc_issuer_profile.apply(_issuer_url),
        identity_profile=found.identity_profile,
    )


def cluster_from_id(
    cluster_id: pulumi.Input[str], opts: pulumi.InvokeOutputOptions | None = None
) -> ClusterRef:
    """The reference for a cluster given by resource id, e.g. ``cluster.id`` of a
    ``ManagedCluster`` created in the same program: while the id is unknown (a preview before
    the cluster exists) the lookups wait instead of failing on a cluster that is not there."""
    resource_id = pulumi.Output.from_input(cluster_id)
    name = resource_id.apply(naming.resource_name_of)
    resource_group = resource_id.apply(naming.resource_group_of)
    found = containerservice.get_managed_cluster_output(
        resource_group_name=resource_group, resource_name=name, opts=opts
    )
    return ClusterRef(
        name=name,
        resource_group_name=resource_group,
        id=resource_id,
        oidc_issuer_url=found.oidc_issuer_profile.apply(_issuer_url),
        identity_profile=found.identity_profile,
    )


def user_kubeconfig(
    cluster: ClusterRef, opts: pulumi.InvokeOutputOptions | None = None
) -> pulumi.Output[str]:
    """The cluster's user kubeconfig, decoded and marked secret."""
    creds = containerservice.list_managed_cluster_user_credentials_output(
        resource_group_name=cluster.resource_group_name, resource_name=cluster.name, opts=opts
    )

    def first(result: containerservice.ListManagedClusterUserCredentialsResult) -> str:
        if not result.kubeconfigs:
            raise WebserviceException("The AKS cluster returned no user credentials.")
        return naming.decode_kubeconfig(result.kubeconfigs[0].value)

    return pulumi.Output.secret(creds.apply(first))


def kubernetes_provider(
    name: str, cluster: ClusterRef, opts: pulumi.ResourceOptions | None = None
) -> k8s.Provider:
    """A Kubernetes provider for ``cluster``, named ``name``.

    ``cluster_identifier`` is the cluster's resource id, so rotated credentials (a new
    kubeconfig) update the provider in place instead of replacing it and every object under it.
    """
    invoke_opts = pulumi.InvokeOutputOptions(parent=opts.parent) if opts and opts.parent else None
    return k8s.Provider(
        name,
        kubeconfig=user_kubeconfig(cluster, invoke_opts),
        cluster_identifier=cluster.id,
        opts=opts,
    )
