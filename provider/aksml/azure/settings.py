"""The ``AzureServiceResources`` arguments, validated and resolved once (before any Azure
resource is registered) and passed to each resource family: identity, App Insights, storage,
image."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

import pulumi

from aksml.azure import image as images
from aksml.azure import naming
from aksml.azure.args import AzureImageArgs, ImageSourceArgs
from aksml.azure.cluster import (
    ClusterRef,
    cluster_from_id,
    cluster_from_name,
    cluster_from_resource,
)
from aksml.errors import WebserviceException
from aksml.plan.code import load_code
from aksml.plan.metadata import app_insights_secret_name
from aksml.plan.settings import DEFAULT_IMAGE

if TYPE_CHECKING:
    from aksml.azure.resources import AzureServiceResourcesArgs


class ImageBuild:
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


class ImageSettings:
    """The image build, validated and resolved from the args alone: Dockerfiles, tags and
    registry."""

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
        self.builds: dict[str | None, ImageBuild] = {}
        """The images by key (None: the single ``image_source``)."""
        for key, entry in given.items():
            fields: Mapping[str, Any] = entry
            missing = [k for k in ("source_directory", "entry_script") if not fields.get(k)]
            if missing:
                where = "image_source" if key is None else f"image_sources[{key!r}]"
                raise WebserviceException(
                    f"Error, the image build needs {where} {' and '.join(missing)}."
                )
            self.builds[key] = ImageBuild(
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


class ServiceSettings:
    """The ``AzureServiceResources`` arguments validated and resolved once, before any child
    exists: what to create, with which names. Every resource family reads its part from here."""

    def __init__(self, name: str, args: AzureServiceResourcesArgs) -> None:
        self.name = name
        self.args = args
        self.resource_group_name = args["resource_group_name"]
        """Resource group of every created resource."""
        self.location = args.get("location")
        """Region of every created resource (None: the resource group's)."""
        self.tags = dict(args.get("tags", {}))
        """Azure tags of every created resource."""
        self.app_insights = bool(args.get("enable_app_insights", False))
        self.app_insights_secret = self.app_insights and bool(
            args.get("create_app_insights_secret", True)
        )
        self.app_insights_secret_name = args.get(
            "app_insights_secret_name", app_insights_secret_name(name)
        )
        self.collect_model_data = bool(args.get("collect_model_data", False))
        self._storage(name, args)
        self.needs_identity = self.needs_storage or bool(
            args.get("workload_identity_enabled", False)
        )
        self.federated_service_accounts = list(args.get("federated_service_accounts", []))
        if len(set(self.federated_service_accounts)) != len(self.federated_service_accounts):
            raise WebserviceException("federated_service_accounts lists an account twice.")
        if len(self.federated_service_accounts) > 19:
            raise WebserviceException(
                "An identity trusts at most 20 federated credentials: give at most 19 "
                "federated_service_accounts."
            )
        self._account(name, args)
        has_cluster = self._check_cluster(args)
        self.image = (
            ImageSettings(
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

    def _storage(self, name: str, args: AzureServiceResourcesArgs) -> None:
        """Model blobs, their container and the deployer's upload grant."""
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

    def _account(self, name: str, args: AzureServiceResourcesArgs) -> None:
        """The storage account's name and, when known before deployment, the model URL."""
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

    def _check_cluster(self, args: AzureServiceResourcesArgs) -> bool:
        """Whether a cluster is named (at most one way); workload identity needs one."""
        given = [k for k in ("cluster", "cluster_id", "compute_target_name") if k in args]
        if len(given) > 1:
            raise WebserviceException(
                f"Give one of cluster, cluster_id and compute_target_name, not {given}."
            )
        if self.needs_identity:
            if not given:
                raise WebserviceException(
                    "Workload identity (models, collect_model_data) needs the AKS cluster's OIDC "
                    "issuer: set compute_target_name, cluster_id or cluster."
                )
            missing = [k for k in ("namespace", "service_account_name") if k not in args]
            if missing:
                raise WebserviceException(
                    f"Workload identity needs {' and '.join(missing)} (the federated subject)."
                )
        return bool(given)

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
