"""Argument types of the Azure integration: ``AksWebservice``'s optional ``azure`` section and
local model uploads. Imports only ``pulumi`` (not ``pulumi_azure_native``), so the webservice's
args module can reference them without the ``azure`` extra installed."""

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi


class AzureModelArgs(TypedDict):
    """A model given as local files; uploaded to the model container, file by file."""

    name: str
    """Model name: the first path segment below the model root (``azureml-models/<name>``)."""
    path: str
    """Local file or folder. A folder is uploaded file by file with its relative paths."""
    version: NotRequired[int]
    """Model version (default 1): the second path segment (``azureml-models/<name>/<version>``)."""


class AzureArgs(TypedDict):
    """``AksWebservice``'s ``azure`` section: create and wire the service's Azure resources
    (``aksml.azure.AzureServiceResources``) from the v1 settings ``compute_target_name``,
    ``enable_app_insights``, ``collect_model_data`` and ``blobfuse_enabled``."""

    resource_group_name: pulumi.Input[str]
    """Resource group for the identity, storage and monitoring resources."""
    location: NotRequired[pulumi.Input[str]]
    """Azure region of created resources (default: the resource group's region)."""
    cluster_name: NotRequired[pulumi.Input[str]]
    """AKS cluster name (default: ``compute_target_name``) of an existing cluster."""
    cluster_id: NotRequired[pulumi.Input[str]]
    """AKS cluster resource id instead of a name: pass ``cluster.id`` for a ``ManagedCluster``
    created in the same program, so that nothing looks the cluster up before it exists."""
    cluster_resource_group_name: NotRequired[pulumi.Input[str]]
    """Resource group of the AKS cluster (default: ``resource_group_name``)."""
    kubernetes_provider_enabled: NotRequired[bool]
    """Build the Kubernetes provider from the cluster's user credentials (default true). A
    provider passed through ``opts`` always wins over it."""
    log_analytics_workspace_id: NotRequired[pulumi.Input[str]]
    """Existing Log Analytics workspace for App Insights (default: a new one)."""
    models: NotRequired[Sequence[AzureModelArgs]]
    """Local models to upload; each becomes a ``blob`` model of the service, mounted with the
    Blob CSI driver (``blobfuse_enabled``) or fetched by the init container, with workload
    identity."""
    storage_account_id: NotRequired[str]
    """Existing storage account (resource id) instead of creating one."""
    storage_account_name: NotRequired[str]
    """Name of the storage account to create (default: derived from project, stack and name)."""
    model_container_name: NotRequired[str]
    """Blob container for uploaded models (default ``models``)."""
    workload_identity_enabled: NotRequired[bool]
    """Create the pods' workload identity even when no model or data container needs it."""
    grant_deployer_blob_access: NotRequired[bool]
    """Grant the principal running Pulumi 'Storage Blob Data Contributor' on the model
    container so that it can upload without account keys (default true)."""
    deployer_principal_type: NotRequired[str]
    """Principal type of the identity running Pulumi: User (default) or ServicePrincipal."""
    tags: NotRequired[Mapping[str, str]]
    """Azure tags for every created Azure resource."""
