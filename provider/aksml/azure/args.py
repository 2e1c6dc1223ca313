"""Argument types of the Azure integration: ``AksWebservice``'s optional ``azure`` section and
local model uploads. Imports only ``pulumi`` (not ``pulumi_azure_native``), so the webservice's
args module can reference them without the ``azure`` extra installed."""

from collections.abc import Mapping, Sequence
from typing import NotRequired, Required, TypedDict

import pulumi


class AzureModelArgs(TypedDict):
    """A model given as local files; uploaded to the model container, file by file."""

    name: str
    """Model name: the first path segment below the model root (``azureml-models/<name>``)."""
    path: str
    """Local file or folder. A folder is uploaded file by file with its relative paths."""
    version: NotRequired[int]
    """Model version (default 1): the second path segment (``azureml-models/<name>/<version>``)."""
    versions: NotRequired[Sequence[str]]
    """``AksEndpoint`` only: the versions that get this model (default: every version)."""


class AzureImageArgs(TypedDict, total=False):
    """Build the service image (the runtime image + the environment's pip requirements + the
    source directory, from a generated Dockerfile) with pulumi-docker-build and push it to an
    Azure Container Registry that the AKS cluster may pull from (AcrPull for its kubelet
    identity). The service then runs that image instead of installing packages at pod start."""

    registry_id: pulumi.Input[str]
    """Resource id of an existing Azure Container Registry (default: create one)."""
    registry_name: str
    """Name of the registry to create (default: derived from the project, stack and name)."""
    registry_sku: str
    """SKU of the created registry: Basic (default), Standard or Premium."""
    repository: str
    """Image repository inside the registry (default: the service name)."""
    push_credentials: str
    """How the build logs in to push: ``admin`` (default; the registry's admin credentials from
    listRegistryCredentials, kept secret; a created registry gets its admin user enabled) or
    ``docker`` (the docker client's own login, e.g. ``az acr login``; nothing is listed)."""
    platforms: Sequence[str]
    """Platforms to build for (default ``["linux/amd64"]``)."""
    grant_acr_pull: bool
    """Grant the cluster's kubelet identity AcrPull on the registry (default true)."""


class ImageSourceArgs(TypedDict, total=False):
    """What goes into a built service image (``AzureServiceResources``' ``image_source``)."""

    source_directory: Required[str]
    """Local source directory: the build context, copied to ``/var/azureml-app/<its name>``."""
    entry_script: Required[str]
    """score.py path relative to ``source_directory`` (``AZUREML_ENTRY_SCRIPT`` in the image)."""
    base_image: str
    """The aksml runtime image to start from (default: the runtime image of this version)."""
    pip_requirements: Sequence[str]
    """Requirement lines installed into the runtime's virtualenv at build time."""
    index_url: str
    """A private package index (pip ``--index-url``)."""


class TokenAuthApplicationArgs(TypedDict, total=False):
    """An Entra ID app registration (pulumi-azuread) whose access tokens the service accepts
    with token auth: issuer ``https://login.microsoftonline.com/<tenant>/v2.0``, audience the
    app's client id or identifier URI."""

    display_name: str
    """Display name of the app registration (default: the service name)."""
    identifier_uri: str
    """Application ID URI (default ``api://<service name>``)."""
    tenant_id: pulumi.Input[str]
    """Tenant of the issuer (default: the tenant Pulumi runs in, from getClientConfig)."""


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
    image: NotRequired[AzureImageArgs]
    """Build the service image (runtime + the environment's requirements + source_directory)
    and push it to an Azure Container Registry the cluster can pull from; the pods then run
    it instead of pip-installing at start. ``{}`` creates a registry with the defaults."""
    token_auth_application: NotRequired[TokenAuthApplicationArgs]
    """With ``token_auth_enabled``: create an Entra ID app registration and pass its issuer and
    audience to the runtime (needs pulumi-azuread, in the ``azure`` extra)."""
