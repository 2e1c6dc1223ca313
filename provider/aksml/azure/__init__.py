"""Azure integration (the ``azure`` extra): the AKS cluster's Kubernetes provider, App Insights,
a key-less blob model store, the ``modeldata`` container and workload identity.

``aksml.azure.naming`` is pure (no Pulumi, no Azure SDK). The Pulumi parts import
``pulumi_azure_native`` and are loaded on first access, so importing this package stays cheap.
"""

from __future__ import annotations

import importlib
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


EXTRA_MODULES = ("pulumi_azure_native", "pulumi_azuread", "pulumi_docker_build", "azure")
"""Top-level modules that only the ``azure`` extra installs."""


def load_wiring(component: str) -> Any:
    """``aksml.azure.wiring``, or a one-line error when the ``azure`` extra is missing (the
    multi-language provider is installed without extras; see docs/provider.md)."""
    try:
        return importlib.import_module("aksml.azure.wiring")
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in EXTRA_MODULES:
            raise
        from aksml.errors import WebserviceException

        raise WebserviceException(
            f"Error, the {component} 'azure' section needs the 'azure' extra "
            f"(pip install 'aksml[azure]'); {exc.name} is not installed."
        ) from None


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
