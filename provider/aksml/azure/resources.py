"""``AzureServiceResources``: the Azure side of one scoring service, as a Pulumi component.

What AML v1 created for an AKS web service on Azure (App Insights, the model download, the
``modeldata`` blobs) made passwordless: a user-assigned identity federated with the pod's
service account (workload identity), data-plane roles scoped to single blob containers, and a
storage account without shared keys. Also builds the Kubernetes provider for the AKS cluster.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Required, Self, TypedDict

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import (
    applicationinsights,
    authorization,
    containerregistry,
    containerservice,
    managedidentity,
    operationalinsights,
    storage,
)

from aksml.azure import image as images
from aksml.azure import naming
from aksml.azure.args import (
    AzureImageArgs,
    AzureModelArgs,
    ImageSourceArgs,
    TokenAuthApplicationArgs,
)
from aksml.azure.cluster import (
    ClusterRef,
    cluster_from_id,
    cluster_from_name,
    cluster_from_resource,
)
from aksml.azure.cluster import kubernetes_provider as build_kubernetes_provider
from aksml.errors import WebserviceException
from aksml.plan.code import load_code
from aksml.plan.metadata import APP_INSIGHTS_SECRET_KEY, app_insights_secret_name
from aksml.plan.settings import DEFAULT_IMAGE

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


class _Account:
    """The storage account in use (created here or given by id)."""

    def __init__(
        self,
        id: pulumi.Output[str],
        name: pulumi.Output[str],
        resource_group_name: pulumi.Output[str],
    ) -> None:
        self.id = id
        self.name = name
        self.resource_group_name = resource_group_name


def _grant(
    resource_name: str,
    principal_id: pulumi.Input[str],
    role_guid: str,
    account_id: pulumi.Output[str],
    container_name: str,
    principal_type: str,
    opts: pulumi.ResourceOptions,
) -> authorization.RoleAssignment:
    """A role assignment of a built-in blob data role on one container."""
    return authorization.RoleAssignment(
        resource_name,
        principal_id=principal_id,
        principal_type=principal_type,
        role_definition_id=account_id.apply(
            lambda i: naming.role_definition_id(naming.subscription_of(i), role_guid)
        ),
        scope=account_id.apply(lambda i: naming.container_scope(i, container_name)),
        opts=opts,
    )


class _ImageBuild:
    """One image to build: its context, generated Dockerfile, repository and content tag."""

    def __init__(self, source: ImageSourceArgs, repository: str) -> None:
        self.source_directory = source["source_directory"]
        entry, bundle = load_code(source["entry_script"], self.source_directory)
        self.dockerfile = images.dockerfile(
            images.ImageRecipe(
                base_image=source.get("base_image", DEFAULT_IMAGE),
                directory_name=bundle.directory_name,
                entry_script=entry,
                pip_requirements=tuple(source.get("pip_requirements", ())),
                index_url=source.get("index_url"),
            )
        )
        self.tag = images.content_tag(self.dockerfile, bundle.files)
        """Content tag: changes exactly when the Dockerfile or a source file changes."""
        self.repository = images.validate_repository(repository)


class _ImagePlan:
    """The image build, decided from the args alone: the Dockerfiles, tags and registry."""

    def __init__(
        self,
        name: str,
        args: AzureImageArgs,
        source: ImageSourceArgs | None,
        sources: Mapping[str, ImageSourceArgs] | None,
        has_cluster: bool,
    ) -> None:
        self.args = args
        if (source is None) == (sources is None):
            raise WebserviceException(
                "Error, the image build needs image_source (one image) or image_sources "
                "(several), not both or neither."
            )
        repository = args.get("repository", name.lower())
        given: dict[str | None, ImageSourceArgs] = {None: source} if source is not None else {}
        for source_key, value in (sources or {}).items():
            given[source_key] = value
        if not given:
            raise WebserviceException("Error, image_sources is empty.")
        self.builds: dict[str | None, _ImageBuild] = {}
        """The images by key (None: the single ``image_source``)."""
        for key, entry in given.items():
            fields: Mapping[str, Any] = entry
            missing = [k for k in ("source_directory", "entry_script") if not fields.get(k)]
            if missing:
                where = "image_source" if key is None else f"image_sources[{key!r}]"
                raise WebserviceException(
                    f"Error, the image build needs {where} {' and '.join(missing)}."
                )
            self.builds[key] = _ImageBuild(
                entry, repository if key is None else f"{repository}/{key}"
            )
        self.push_credentials = images.push_credentials(args.get("push_credentials", "admin"))
        import pulumi_docker_build as docker_build  # the 'azure' extra

        chosen = images.platforms(args.get("platforms"))
        try:
            self.platforms = [docker_build.Platform(p) for p in chosen]
        except ValueError:
            raise WebserviceException(
                f"Unsupported platforms {chosen}: use e.g. linux/amd64 or linux/arm64."
            ) from None
        self.sku = args.get("registry_sku", "Basic")
        if self.sku not in {"Basic", "Standard", "Premium"}:
            raise WebserviceException(
                f"Invalid registry_sku {self.sku!r}: use Basic, Standard or Premium."
            )
        self.registry_name = images.validate_registry_name(
            args.get(
                "registry_name",
                images.registry_name(name, f"{pulumi.get_project()}/{pulumi.get_stack()}"),
            )
        )
        self.grant_acr_pull = bool(args.get("grant_acr_pull", True))
        if self.grant_acr_pull and not has_cluster:
            raise WebserviceException(
                "Granting AcrPull needs the AKS cluster (its kubelet identity): set "
                "compute_target_name, cluster_id or cluster, or grant_acr_pull to false."
            )


def _subject(namespace: pulumi.Input[str], service_account: str) -> pulumi.Output[str]:
    """The federated subject of ``service_account`` in ``namespace``."""
    return pulumi.Output.from_input(namespace).apply(
        lambda ns: naming.federated_subject(ns, service_account)
    )


def _image_tag(server: pulumi.Output[str], repository: str, tag: str) -> pulumi.Output[str]:
    """The fully qualified tag once the registry's login server is known."""
    return server.apply(lambda s: images.image_tag(s, repository, tag))


def _registry_username(result: containerregistry.ListRegistryCredentialsResult) -> str:
    if not result.username:
        raise WebserviceException("The container registry returned no admin user name.")
    return result.username


def _registry_password(result: containerregistry.ListRegistryCredentialsResult) -> str:
    for entry in result.passwords or []:
        if entry.value:
            return entry.value
    raise WebserviceException(
        "The container registry returned no admin password: enable its admin user or use "
        "push_credentials 'docker'."
    )


class _Plan:
    """What to create, decided from the args alone (validation happens here, before any child)."""

    def __init__(self, name: str, args: AzureServiceResourcesArgs) -> None:
        self.name = name
        self.args = args
        self.app_insights = bool(args.get("enable_app_insights", False))
        self.app_insights_secret = self.app_insights and bool(
            args.get("create_app_insights_secret", True)
        )
        self.collect_model_data = bool(args.get("collect_model_data", False))
        self.grant_deployer = bool(args.get("grant_deployer_blob_access", True))
        self.deployer_principal_type = args.get("deployer_principal_type", "User")
        if self.deployer_principal_type not in {"User", "ServicePrincipal", "Group"}:
            raise WebserviceException(
                f"Invalid deployer_principal_type {self.deployer_principal_type!r}: use User, "
                "ServicePrincipal or Group."
            )
        self.model_container_name = naming.validate_container_name(
            args.get("model_container_name", naming.DEFAULT_MODEL_CONTAINER)
        )
        if self.model_container_name == naming.MODEL_DATA_CONTAINER:
            raise WebserviceException(
                f"model_container_name must differ from {naming.MODEL_DATA_CONTAINER!r}: the pods "
                "may only write to the data container."
            )
        self.blobs = [
            blob
            for model in args.get("models", [])
            for blob in naming.model_blobs(model["name"], model.get("version", 1), model["path"])
        ]
        naming.check_unique_blob_names(self.blobs)
        self.needs_storage = bool(self.blobs) or self.collect_model_data
        self.needs_identity = self.needs_storage or bool(
            args.get("workload_identity_enabled", False)
        )
        self.app_insights_secret_name = args.get(
            "app_insights_secret_name", app_insights_secret_name(name)
        )
        self.federated_service_accounts = list(args.get("federated_service_accounts", []))
        if len(set(self.federated_service_accounts)) != len(self.federated_service_accounts):
            raise WebserviceException("federated_service_accounts lists an account twice.")
        if len(self.federated_service_accounts) > 19:
            raise WebserviceException(
                "An identity trusts at most 20 federated credentials: give at most 19 "
                "federated_service_accounts."
            )
        self.storage_account_name = naming.validate_storage_account_name(
            args.get(
                "storage_account_name",
                naming.storage_account_name(name, f"{pulumi.get_project()}/{pulumi.get_stack()}"),
            )
        )
        existing = args.get("storage_account_id")
        account: str | None = self.storage_account_name
        if existing is not None:
            account = naming.resource_name_of(existing) if isinstance(existing, str) else None
        self.model_container_url: str | None = (
            naming.container_url(account, self.model_container_name)
            if account is not None and self.blobs
            else None
        )
        """The model container's URL when known before deployment (plain account name)."""
        given = [k for k in ("cluster", "cluster_id", "compute_target_name") if k in args]
        has_cluster = bool(given)
        if len(given) > 1:
            raise WebserviceException(
                f"Give one of cluster, cluster_id and compute_target_name, not {given}."
            )
        if self.needs_identity:
            if not has_cluster:
                raise WebserviceException(
                    "Workload identity (models, collect_model_data) needs the AKS cluster's OIDC "
                    "issuer: set compute_target_name, cluster_id or cluster."
                )
            missing = [k for k in ("namespace", "service_account_name") if k not in args]
            if missing:
                raise WebserviceException(
                    f"Workload identity needs {' and '.join(missing)} (the federated subject)."
                )
        self.image = (
            _ImagePlan(
                name,
                args["image"],
                args.get("image_source"),
                args.get("image_sources"),
                has_cluster,
            )
            if "image" in args
            else None
        )
        self.token_app = args.get("token_auth_application")
        if self.token_app is not None:
            naming.validate_identifier_uri(
                self.token_app.get("identifier_uri", naming.default_identifier_uri(name))
            )
        if self.app_insights_secret and "namespace" not in args:
            raise WebserviceException(
                "enable_app_insights needs namespace (for the connection-string Secret)."
            )

    @classmethod
    def from_args(cls, name: str, args: AzureServiceResourcesArgs) -> Self:
        """Validate ``args`` and decide which resources to create."""
        if "resource_group_name" not in args:
            raise WebserviceException("resource_group_name is required for Azure resources.")
        return cls(name, args)

    def cluster(
        self, default_resource_group: pulumi.Input[str], parent: pulumi.Resource
    ) -> ClusterRef | None:
        """The cluster reference, or None when neither cluster nor compute_target_name is set."""
        given = self.args.get("cluster")
        if given is not None:
            return cluster_from_resource(given)
        invoke_opts = pulumi.InvokeOutputOptions(parent=parent)
        if "cluster_id" in self.args:
            return cluster_from_id(self.args["cluster_id"], invoke_opts)
        target = self.args.get("compute_target_name")
        if target is None:
            return None
        return cluster_from_name(
            target,
            self.args.get("cluster_resource_group_name", default_resource_group),
            invoke_opts,
        )


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
        plan = _Plan.from_args(name, args)
        self.planned_model_container_url = plan.model_container_url
        self.has_identity = plan.needs_identity
        """A workload identity is created (``client_id`` is set)."""
        self.has_app_insights = plan.app_insights
        """App Insights is created (``app_insights_connection_string`` is set)."""
        self.has_data_container = plan.collect_model_data
        """The modeldata container is created (``data_collection_blob_url`` is set)."""
        """The model container's URL when already known at construction (it is whenever the
        storage account is created here or given by a plain resource id); None otherwise."""
        child = pulumi.ResourceOptions(parent=self)
        rg = args["resource_group_name"]
        location = args.get("location")
        tags = dict(args.get("tags", {}))
        none: pulumi.Output[Any] = pulumi.Output.from_input(None)

        # --- cluster and Kubernetes provider (looked up only when something needs it) ---
        build_provider = bool(args.get("kubernetes_provider_enabled", True)) and (
            self.get_provider("kubernetes::Provider") is None
        )
        needs_cluster = (
            build_provider
            or plan.needs_identity
            or (plan.image is not None and plan.image.grant_acr_pull)
        )
        cluster = plan.cluster(rg, self) if needs_cluster else None
        self.kubernetes_provider = None
        if cluster is not None and build_provider:
            self.kubernetes_provider = build_kubernetes_provider(
                f"{name}-k8s", cluster, pulumi.ResourceOptions(parent=self)
            )
        self.cluster_id = cluster.id if cluster is not None else none
        self.oidc_issuer_url = cluster.oidc_issuer_url if cluster is not None else none
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.kubernetes_provider)

        # --- workload identity ---
        identity: managedidentity.UserAssignedIdentity | None = None
        if plan.needs_identity:
            assert cluster is not None  # checked by _Plan
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-identity", resource_group_name=rg, location=location, tags=tags, opts=child
            )
            previous = managedidentity.FederatedIdentityCredential(
                f"{name}-federated",
                resource_group_name=rg,
                resource_name_=identity.name,
                issuer=cluster.oidc_issuer_url,
                subject=pulumi.Output.all(args["namespace"], args["service_account_name"]).apply(
                    lambda ns_sa: naming.federated_subject(ns_sa[0], ns_sa[1])
                ),
                audiences=[naming.WORKLOAD_IDENTITY_AUDIENCE],
                opts=child,
            )
            # Azure refuses concurrent credential writes on one identity (409): one at a time
            for subject_account in plan.federated_service_accounts:
                previous = managedidentity.FederatedIdentityCredential(
                    f"{name}-federated-{subject_account}",
                    resource_group_name=rg,
                    resource_name_=identity.name,
                    issuer=cluster.oidc_issuer_url,
                    subject=_subject(args["namespace"], subject_account),
                    audiences=[naming.WORKLOAD_IDENTITY_AUDIENCE],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[previous]),
                )
        self.client_id = identity.client_id if identity is not None else none
        self.principal_id = identity.principal_id if identity is not None else none
        self.tenant_id = identity.tenant_id if identity is not None else none

        # --- App Insights ---
        self.app_insights_connection_string = none
        self.app_insights_secret_name = none
        if plan.app_insights:
            workspace_id = args.get("log_analytics_workspace_id")
            if workspace_id is None:
                workspace_id = operationalinsights.Workspace(
                    f"{name}-logs",
                    resource_group_name=rg,
                    location=location,
                    sku={"name": "PerGB2018"},
                    retention_in_days=30,
                    tags=tags,
                    opts=child,
                ).id
            component = applicationinsights.Component(
                f"{name}-appinsights",
                resource_group_name=rg,
                location=location,
                kind="web",
                application_type="web",
                ingestion_mode="LogAnalytics",
                workspace_resource_id=workspace_id,
                tags=tags,
                opts=child,
            )
            connection_string: pulumi.Output[str] = pulumi.Output.secret(
                component.connection_string
            )
            self.app_insights_connection_string = connection_string
            if plan.app_insights_secret:
                secret = k8s.core.v1.Secret(
                    f"{name}-appinsights",
                    metadata={
                        "name": plan.app_insights_secret_name,
                        "namespace": args["namespace"],
                    },
                    type="Opaque",
                    string_data={APP_INSIGHTS_SECRET_KEY: connection_string},
                    opts=k8s_opts,
                )
                self.app_insights_secret_name = secret.metadata.apply(lambda m: m.name)

        # --- storage: models and collected data ---
        self.storage_account_name = none
        self.storage_resource_group_name = none
        self.model_container_url = none
        self.model_blob_urls = pulumi.Output.from_input({})
        self.model_volume = none
        self.data_collection_blob_url = none
        if plan.needs_storage:
            assert identity is not None  # storage implies identity (_Plan)
            account = self._storage_account(name, plan, args, tags, child)
            self.storage_account_name = account.name
            self.storage_resource_group_name = account.resource_group_name
            if plan.blobs:
                self._model_store(name, plan, account, identity, child)
            if plan.collect_model_data:
                container = storage.BlobContainer(
                    f"{name}-modeldata",
                    account_name=account.name,
                    resource_group_name=account.resource_group_name,
                    container_name=naming.MODEL_DATA_CONTAINER,
                    public_access=storage.PublicAccess.NONE,
                    opts=child,
                )
                _grant(
                    f"{name}-modeldata-contributor",
                    identity.principal_id,
                    naming.STORAGE_BLOB_DATA_CONTRIBUTOR,
                    account.id,
                    naming.MODEL_DATA_CONTAINER,
                    "ServicePrincipal",
                    pulumi.ResourceOptions(parent=self, depends_on=[container]),
                )
                self.data_collection_blob_url = account.name.apply(
                    lambda a: naming.container_url(a, naming.MODEL_DATA_CONTAINER)
                )

        # --- the service image(s) ---
        self.image_ref = none
        self.image_refs = pulumi.Output.from_input({})
        self.registry_login_server = none
        self.registry_id = none
        if plan.image is not None:
            self._image(name, plan.image, args, tags, cluster)

        # --- token auth: an Entra ID app registration ---
        self.token_issuer = none
        self.token_audience = none
        self.token_application_client_id = none
        if plan.token_app is not None:
            self._token_application(name, plan.token_app)

        self.register_outputs(
            {
                "cluster_id": self.cluster_id,
                "oidc_issuer_url": self.oidc_issuer_url,
                "client_id": self.client_id,
                "principal_id": self.principal_id,
                "tenant_id": self.tenant_id,
                "app_insights_connection_string": self.app_insights_connection_string,
                "app_insights_secret_name": self.app_insights_secret_name,
                "storage_account_name": self.storage_account_name,
                "storage_resource_group_name": self.storage_resource_group_name,
                "model_container_url": self.model_container_url,
                "model_blob_urls": self.model_blob_urls,
                "model_volume": self.model_volume,
                "data_collection_blob_url": self.data_collection_blob_url,
                "image_ref": self.image_ref,
                "image_refs": self.image_refs,
                "registry_login_server": self.registry_login_server,
                "registry_id": self.registry_id,
                "token_issuer": self.token_issuer,
                "token_audience": self.token_audience,
                "token_application_client_id": self.token_application_client_id,
            }
        )

    def _image(
        self,
        name: str,
        plan: _ImagePlan,
        args: AzureServiceResourcesArgs,
        tags: dict[str, str],
        cluster: ClusterRef | None,
    ) -> None:
        import pulumi_docker_build as docker_build  # the 'azure' extra

        child = pulumi.ResourceOptions(parent=self)
        existing = plan.args.get("registry_id")
        after: list[pulumi.Resource] = []
        if existing is not None:
            registry_id = pulumi.Output.from_input(existing)
            registry_name = registry_id.apply(naming.resource_name_of)
            registry_group = registry_id.apply(naming.resource_group_of)
            server = registry_name.apply(images.login_server)
        else:
            registry = containerregistry.Registry(
                f"{name}-acr",
                registry_name=plan.registry_name,
                resource_group_name=args["resource_group_name"],
                location=args.get("location"),
                sku={"name": plan.sku},
                admin_user_enabled=plan.push_credentials == "admin",
                tags=tags,
                opts=child,
            )
            after.append(registry)
            registry_id = registry.id
            registry_name = registry.name  # waits for the registry before listing credentials
            registry_group = pulumi.Output.from_input(args["resource_group_name"])
            server = registry.login_server
        registries: list[docker_build.RegistryArgsDict] | None = None
        if plan.push_credentials == "admin":
            credentials = containerregistry.list_registry_credentials_output(
                registry_name=registry_name,
                resource_group_name=registry_group,
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            registries = [
                {
                    "address": server,
                    "username": credentials.apply(_registry_username),
                    "password": pulumi.Output.secret(credentials.apply(_registry_password)),
                }
            ]
        refs: dict[str | None, pulumi.Output[str]] = {}
        for key, build in plan.builds.items():
            repository, tag = build.repository, build.tag
            refs[key] = docker_build.Image(
                f"{name}-image" if key is None else f"{name}-image-{key}",
                context={"location": build.source_directory},
                dockerfile={"inline": build.dockerfile},
                platforms=plan.platforms,
                push=True,
                build_on_preview=False,
                registries=registries,
                tags=[_image_tag(server, repository, tag)],
                opts=pulumi.ResourceOptions(parent=self, depends_on=after),
            ).ref
        if plan.grant_acr_pull:
            assert cluster is not None  # checked by _ImagePlan
            authorization.RoleAssignment(
                f"{name}-acr-pull",
                principal_id=cluster.kubelet_object_id(),
                principal_type="ServicePrincipal",
                role_definition_id=registry_id.apply(
                    lambda i: naming.role_definition_id(naming.subscription_of(i), images.ACR_PULL)
                ),
                scope=registry_id,
                opts=child,
            )
        none: pulumi.Output[Any] = pulumi.Output.from_input(None)
        self.image_ref = refs.get(None, none)
        keyed = {k: v for k, v in refs.items() if k is not None}
        self.image_refs = pulumi.Output.all(**keyed) if keyed else pulumi.Output.from_input({})
        self.registry_login_server = server
        self.registry_id = registry_id

    def _token_application(self, name: str, app_args: TokenAuthApplicationArgs) -> None:
        import pulumi_azuread as azuread  # the 'azure' extra

        identifier_uri = app_args.get("identifier_uri", naming.default_identifier_uri(name))
        application = azuread.Application(
            f"{name}-app",
            display_name=app_args.get("display_name", name),
            identifier_uris=[identifier_uri],
            sign_in_audience="AzureADMyOrg",
            api={"requested_access_token_version": 2},
            opts=pulumi.ResourceOptions(parent=self),
        )
        tenant: pulumi.Input[str] | None = app_args.get("tenant_id")
        if tenant is None:
            tenant = authorization.get_client_config_output(
                opts=pulumi.InvokeOutputOptions(parent=self)
            ).tenant_id
        self.token_issuer = pulumi.Output.from_input(tenant).apply(naming.entra_issuer)
        self.token_audience = application.client_id.apply(
            lambda client_id: f"{client_id},{identifier_uri}"
        )
        self.token_application_client_id = application.client_id

    def _storage_account(
        self,
        name: str,
        plan: _Plan,
        args: AzureServiceResourcesArgs,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> _Account:
        existing = args.get("storage_account_id")
        if existing is not None:
            account_id = pulumi.Output.from_input(existing)
            return _Account(
                id=account_id,
                name=account_id.apply(naming.resource_name_of),
                resource_group_name=account_id.apply(naming.resource_group_of),
            )
        account = storage.StorageAccount(
            f"{name}-storage",
            account_name=plan.storage_account_name,
            resource_group_name=args["resource_group_name"],
            location=args.get("location"),
            kind="StorageV2",
            sku={"name": "Standard_LRS"},
            allow_shared_key_access=False,
            allow_blob_public_access=False,
            default_to_o_auth_authentication=True,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            tags=tags,
            opts=child,
        )
        return _Account(
            id=account.id,
            name=pulumi.Output.from_input(plan.storage_account_name),
            resource_group_name=pulumi.Output.from_input(args["resource_group_name"]),
        )

    def _model_store(
        self,
        name: str,
        plan: _Plan,
        account: _Account,
        identity: managedidentity.UserAssignedIdentity,
        child: pulumi.ResourceOptions,
    ) -> None:
        container_name = plan.model_container_name
        container = storage.BlobContainer(
            f"{name}-models",
            account_name=account.name,
            resource_group_name=account.resource_group_name,
            container_name=container_name,
            public_access=storage.PublicAccess.NONE,
            opts=child,
        )
        after_container = pulumi.ResourceOptions(parent=self, depends_on=[container])
        _grant(
            f"{name}-models-reader",
            identity.principal_id,
            naming.STORAGE_BLOB_DATA_READER,
            account.id,
            container_name,
            "ServicePrincipal",
            after_container,
        )
        upload_deps: list[pulumi.Resource] = [container]
        if plan.grant_deployer:
            deployer = authorization.get_client_config_output(
                opts=pulumi.InvokeOutputOptions(parent=self)
            )
            upload_deps.append(
                _grant(
                    f"{name}-deployer-models-contributor",
                    deployer.object_id,
                    naming.STORAGE_BLOB_DATA_CONTRIBUTOR,
                    account.id,
                    container_name,
                    plan.deployer_principal_type,
                    after_container,
                )
            )
        for blob in plan.blobs:
            storage.Blob(
                naming.blob_child_name(name, blob.blob_name),
                account_name=account.name,
                resource_group_name=account.resource_group_name,
                container_name=container_name,
                blob_name=blob.blob_name,
                type=storage.BlobType.BLOCK,
                source=pulumi.FileAsset(str(blob.source)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=upload_deps),
            )
        blob_names = [b.blob_name for b in plan.blobs]
        self.model_container_url = account.name.apply(
            lambda a: naming.container_url(a, container_name)
        )
        self.model_blob_urls = account.name.apply(
            lambda a: {b: naming.blob_url(a, container_name, b) for b in blob_names}
        )
        self.model_volume = pulumi.Output.all(
            account.name, account.resource_group_name, identity.client_id
        ).apply(lambda v: naming.blob_csi_volume("azure-models", v[0], container_name, v[2], v[1]))
