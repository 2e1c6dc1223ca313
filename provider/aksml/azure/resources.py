"""``AzureServiceResources``: the Azure side of one scoring service, as a Pulumi component.

The arguments are validated and resolved once (:mod:`aksml.azure.settings`), then each resource
family is created by its module: :mod:`aksml.azure.identity` (workload identity, token-auth
app), :mod:`aksml.azure.insights` (App Insights), :mod:`aksml.azure.blobs` (storage, models,
collected data) and :mod:`aksml.azure.registry` (the image).

What AML v1 created for an AKS web service on Azure (App Insights, the model download, the
``modeldata`` blobs) made passwordless: a user-assigned identity federated with the pod's
service account (workload identity), data-plane roles scoped to single blob containers, and a
storage account without shared keys. Also builds the Kubernetes provider for the AKS cluster.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import containerservice, managedidentity

from aksml.azure.args import (
    AzureImageArgs,
    AzureModelArgs,
    ImageSourceArgs,
    TokenAuthApplicationArgs,
)
from aksml.azure.blobs import data_container, model_store, storage_account
from aksml.azure.cluster import ClusterRef
from aksml.azure.cluster import kubernetes_provider as build_kubernetes_provider
from aksml.azure.identity import token_application, workload_identity
from aksml.azure.insights import app_insights
from aksml.azure.registry import build_images
from aksml.azure.settings import ServiceSettings

TYPE_TOKEN = "aksml:index:AzureServiceResources"


class AzureServiceResourcesArgs(TypedDict, total=False):
    """Inputs of ``AzureServiceResources``. Every Azure resource is optional and created only
    when a setting asks for it."""

    resource_group_name: Required[pulumi.Input[str]]
    """Resource group in which the identity, storage and monitoring resources are created."""
    location: pulumi.Input[str]
    """Azure region of created resources (default: the resource group's region)."""
    compute_target_name: pulumi.Input[str]
    """Name of an existing AKS cluster (AML v1 ``compute_target_name``)."""
    cluster_resource_group_name: pulumi.Input[str]
    """Resource group of the ``compute_target_name`` cluster (default: ``resource_group_name``)."""
    cluster: containerservice.ManagedCluster
    """An AKS cluster defined in the same program (instead of ``compute_target_name``)."""
    cluster_id: pulumi.Input[str]
    """Resource id of the AKS cluster (instead of ``compute_target_name``): lookups wait until
    the id is known, so a cluster created in the same program previews cleanly."""
    kubernetes_provider_enabled: bool
    """Build a Kubernetes provider from the cluster's user credentials (default true). A
    Kubernetes provider passed in through ``opts`` (or inherited from the parent) wins."""
    namespace: pulumi.Input[str]
    """Kubernetes namespace of the service: the federated credential's subject and the App
    Insights Secret's namespace."""
    service_account_name: pulumi.Input[str]
    """Kubernetes service account the pods run as; the federated credential trusts its token."""
    federated_service_accounts: Sequence[str]
    """More service accounts (same namespace) the identity trusts, one federated credential
    each (``<name>-federated-<account>``): e.g. every version of an ``AksEndpoint``."""
    enable_app_insights: bool
    """Create a workspace-based Application Insights component and a Kubernetes Secret with its
    connection string (AML v1 ``enable_app_insights``)."""
    log_analytics_workspace_id: pulumi.Input[str]
    """Resource id of an existing Log Analytics workspace for App Insights (default: a new one)."""
    app_insights_secret_name: str
    """Name of the Kubernetes Secret with the connection string (default ``<name>-appinsights``)."""
    create_app_insights_secret: bool
    """Create that Kubernetes Secret here (default true; ``AksWebservice`` creates its own)."""
    models: Sequence[AzureModelArgs]
    """Local models to upload as blobs into the model container."""
    storage_account_id: pulumi.Input[str]
    """Resource id of an existing storage account to use instead of creating one."""
    storage_account_name: str
    """Name of the storage account to create (default: derived from the project, stack and name)."""
    model_container_name: str
    """Blob container for uploaded models (default ``models``)."""
    collect_model_data: bool
    """Create the ``modeldata`` container the runtime writes collected data to (AML v1
    ``collect_model_data``), writable by the pods' identity only."""
    workload_identity_enabled: bool
    """Create the pods' workload identity even when no model or data container needs it."""
    grant_deployer_blob_access: bool
    """Grant the principal running Pulumi 'Storage Blob Data Contributor' on the model container
    so that it can upload the model blobs without account keys (default true)."""
    deployer_principal_type: str
    """Principal type of the identity running Pulumi, for that grant: ``User`` (default, an
    interactive ``az login``) or ``ServicePrincipal`` (CI with a service principal or identity)."""
    tags: Mapping[str, str]
    """Azure tags for every created Azure resource."""
    image: AzureImageArgs
    """Build the service image from a generated Dockerfile (pulumi-docker-build), push it to
    an Azure Container Registry (created here or given) and grant the cluster's kubelet
    identity AcrPull on it. Needs ``image_source``."""
    image_source: ImageSourceArgs
    """What goes into the built image: source directory, entry script, pip requirements."""
    image_sources: Mapping[str, ImageSourceArgs]
    """Several images instead (e.g. one per ``AksEndpoint`` version), pushed to the same
    registry as ``<repository>/<key>``: children ``<name>-image-<key>``, refs in
    ``image_refs``."""
    token_auth_application: TokenAuthApplicationArgs
    """Create an Entra ID app registration (pulumi-azuread) for token auth; its issuer and
    audience become the ``token_issuer`` and ``token_audience`` outputs."""


class AzureServiceResources(pulumi.ComponentResource):
    """Azure resources of one scoring service: Kubernetes provider for an AKS cluster, App
    Insights, a key-less blob model store, a ``modeldata`` container and workload identity."""

    kubernetes_provider: k8s.Provider | None
    """Provider built from the AKS cluster's user credentials; None when no cluster was named or
    a Kubernetes provider was passed in through ``opts``."""
    cluster_id: pulumi.Output[str | None]
    """The AKS cluster's resource id."""
    oidc_issuer_url: pulumi.Output[str | None]
    """The AKS cluster's OIDC issuer URL."""
    client_id: pulumi.Output[str | None]
    """Client id of the pods' user-assigned identity (the ServiceAccount annotation's value)."""
    principal_id: pulumi.Output[str | None]
    """Object id of the pods' user-assigned identity."""
    tenant_id: pulumi.Output[str | None]
    """Tenant of the pods' user-assigned identity."""
    app_insights_connection_string: pulumi.Output[str | None]
    """App Insights connection string (a Pulumi secret)."""
    app_insights_secret_name: pulumi.Output[str | None]
    """Kubernetes Secret holding the connection string under key ``connectionString``."""
    storage_account_name: pulumi.Output[str | None]
    """The model/data storage account."""
    storage_resource_group_name: pulumi.Output[str | None]
    """Resource group of the storage account."""
    model_container_url: pulumi.Output[str | None]
    """URL of the model container."""
    model_blob_urls: pulumi.Output[dict[str, str]]
    """Path below the pod's model root (``<model>/<version>/<file>``) -> blob URL."""
    model_volume: pulumi.Output[dict[str, Any] | None]
    """Inline Blob CSI volume mounting the model container read-only with workload identity
    (for ``blobfuse_enabled``)."""
    data_collection_blob_url: pulumi.Output[str | None]
    """URL of the ``modeldata`` container (the runtime's blob sink)."""
    image_ref: pulumi.Output[str | None]
    """The pushed service image, ``<login server>/<repository>:<tag>@<digest>``."""
    image_refs: pulumi.Output[dict[str, str]]
    """The pushed images of ``image_sources`` by key."""
    registry_login_server: pulumi.Output[str | None]
    """Login server of the container registry (``<name>.azurecr.io``)."""
    registry_id: pulumi.Output[str | None]
    """Resource id of the container registry."""
    token_issuer: pulumi.Output[str | None]
    """Token auth issuer: ``https://login.microsoftonline.com/<tenant>/v2.0``."""
    token_audience: pulumi.Output[str | None]
    """Token auth audiences: ``<app client id>,<identifier URI>``."""
    token_application_client_id: pulumi.Output[str | None]
    """Client id of the Entra ID app registration."""

    def __init__(
        self,
        name: str,
        args: AzureServiceResourcesArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_TOKEN, name, {}, opts)
        settings = ServiceSettings.from_args(name, args)
        self.planned_model_container_url = settings.model_container_url
        """The model container's URL when already known at construction (it is whenever the
        storage account is created here or given by a plain resource id); None otherwise."""
        self.has_identity = settings.needs_identity
        """A workload identity is created (``client_id`` is set)."""
        self.has_app_insights = settings.app_insights
        """App Insights is created (``app_insights_connection_string`` is set)."""
        self.has_data_container = settings.collect_model_data
        """The modeldata container is created (``data_collection_blob_url`` is set)."""
        none: pulumi.Output[Any] = pulumi.Output.from_input(None)
        cluster = self._cluster(name, settings)
        identity = None
        if settings.needs_identity:
            assert cluster is not None  # checked by ServiceSettings
            identity = workload_identity(name, settings, cluster, self)
        self.client_id = identity.client_id if identity is not None else none
        self.principal_id = identity.principal_id if identity is not None else none
        self.tenant_id = identity.tenant_id if identity is not None else none
        insights = None
        if settings.app_insights:
            k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.kubernetes_provider)
            insights = app_insights(name, settings, self, k8s_opts)
        self.app_insights_connection_string = insights.connection_string if insights else none
        self.app_insights_secret_name = insights.secret_name if insights else none
        self._storage(name, settings, identity)
        built = build_images(name, settings, cluster, self) if settings.image else None
        self.image_ref = built.ref if built else none
        self.image_refs = built.refs if built else pulumi.Output.from_input({})
        self.registry_login_server = built.login_server if built else none
        self.registry_id = built.registry_id if built else none
        token = (
            token_application(name, settings.token_app, self)
            if settings.token_app is not None
            else None
        )
        self.token_issuer = token.issuer if token else none
        self.token_audience = token.audience if token else none
        self.token_application_client_id = token.client_id if token else none
        self.register_outputs({key: getattr(self, key) for key in _OUTPUTS})

    def _cluster(self, name: str, settings: ServiceSettings) -> ClusterRef | None:
        """The cluster (looked up only when something needs it) and its Kubernetes provider."""
        none: pulumi.Output[Any] = pulumi.Output.from_input(None)
        build_provider = bool(settings.args.get("kubernetes_provider_enabled", True)) and (
            self.get_provider("kubernetes::Provider") is None
        )
        needs_cluster = (
            build_provider
            or settings.needs_identity
            or (settings.image is not None and settings.image.grant_acr_pull)
        )
        cluster = settings.cluster(settings.resource_group_name, self) if needs_cluster else None
        self.kubernetes_provider = None
        if cluster is not None and build_provider:
            self.kubernetes_provider = build_kubernetes_provider(
                f"{name}-k8s", cluster, pulumi.ResourceOptions(parent=self)
            )
        self.cluster_id = cluster.id if cluster is not None else none
        self.oidc_issuer_url = cluster.oidc_issuer_url if cluster is not None else none
        return cluster

    def _storage(
        self,
        name: str,
        settings: ServiceSettings,
        identity: managedidentity.UserAssignedIdentity | None,
    ) -> None:
        """Models and collected data: the account, the model store, the modeldata container."""
        none: pulumi.Output[Any] = pulumi.Output.from_input(None)
        self.storage_account_name = none
        self.storage_resource_group_name = none
        self.model_container_url = none
        self.model_blob_urls = pulumi.Output.from_input({})
        self.model_volume = none
        self.data_collection_blob_url = none
        if not settings.needs_storage:
            return
        assert identity is not None  # storage implies identity (ServiceSettings)
        account = storage_account(name, settings, self)
        self.storage_account_name = account.name
        self.storage_resource_group_name = account.resource_group_name
        if settings.blobs:
            store = model_store(name, settings, account, identity, self)
            self.model_container_url = store.container_url
            self.model_blob_urls = store.blob_urls
            self.model_volume = store.volume
        if settings.collect_model_data:
            self.data_collection_blob_url = data_container(name, account, identity, self)


_OUTPUTS = (
    "cluster_id",
    "oidc_issuer_url",
    "client_id",
    "principal_id",
    "tenant_id",
    "app_insights_connection_string",
    "app_insights_secret_name",
    "storage_account_name",
    "storage_resource_group_name",
    "model_container_url",
    "model_blob_urls",
    "model_volume",
    "data_collection_blob_url",
    "image_ref",
    "image_refs",
    "registry_login_server",
    "registry_id",
    "token_issuer",
    "token_audience",
    "token_application_client_id",
)
