"""Azure integration (the ``azure`` extra): the AKS cluster's Kubernetes provider, App Insights,
a key-less blob model store, the ``modeldata`` container and workload identity.

``aksml.azure.naming`` is pure (no Pulumi, no Azure SDK). The Pulumi parts import
``pulumi_azure_native`` and are loaded on first access, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aksml._lazy import lazy_attribute

_LAZY: dict[str, str] = {
    "AzureServiceResources": "aksml.azure.resources",
    "AzureServiceResourcesArgs": "aksml.azure.resources",
    "AzureArgs": "aksml.azure.args",
    "AzureModelArgs": "aksml.azure.args",
    "ClusterRef": "aksml.azure.cluster",
    "cluster_from_name": "aksml.azure.cluster",
    "cluster_from_resource": "aksml.azure.cluster",
    "kubernetes_provider": "aksml.azure.cluster",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from aksml.azure.args import AzureArgs, AzureModelArgs
    from aksml.azure.cluster import (
        ClusterRef,
        cluster_from_name,
        cluster_from_resource,
        kubernetes_provider,
    )
    from aksml.azure.resources import AzureServiceResources, AzureServiceResourcesArgs


def __getattr__(name: str) -> Any:
    return lazy_attribute(__name__, _LAZY, globals(), name)


__all__ = [
    "AzureArgs",
    "AzureModelArgs",
    "AzureServiceResources",
    "AzureServiceResourcesArgs",
    "ClusterRef",
    "cluster_from_name",
    "cluster_from_resource",
    "kubernetes_provider",
]
