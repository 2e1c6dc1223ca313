"""How ``AksWebservice`` uses its ``azure`` args section: one ``AzureServiceResources`` child
whose outputs fill the service's deferrable arguments (workload identity client id, App
Insights connection string, data-collection blob URL), extra ``blob`` models for uploaded
files, and the Kubernetes provider for the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from aksml.azure import naming
from aksml.azure.args import AzureArgs, ImageSourceArgs, TokenAuthApplicationArgs
from aksml.azure.resources import AzureServiceResources, AzureServiceResourcesArgs
from aksml.errors import WebserviceException
from aksml.plan import placeholder
from aksml.plan.inputs import environment_spec, v1_configuration
from aksml.plan.settings import DEFAULT_IMAGE
from aksml.plan.webservice import namespace_of
from aksml.spec.names import validate_service_name

_PASSED_THROUGH = (
    "resource_group_name",
    "location",
    "log_analytics_workspace_id",
    "models",
    "storage_account_id",
    "storage_account_name",
    "model_container_name",
    "workload_identity_enabled",
    "grant_deployer_blob_access",
    "deployer_principal_type",
    "tags",
)


def attach_azure(
    parent: pulumi.ComponentResource,
    name: str,
    azure: AzureArgs,
    plain: dict[str, Any],
    deferred: dict[str, pulumi.Output[Any]],
) -> tuple[AzureServiceResources, pulumi.ResourceOptions]:
    """Create ``<name>-azure`` and point the service's arguments at it.

    ``plain``/``deferred`` are the webservice's arguments after placeholder substitution; they
    are updated in place. Returns the child and the options every Kubernetes child of the
    service must use (the cluster's provider unless the stack passed one, and a dependency
    on the Azure resources so pods start after their identity, roles and blobs exist).
    """
    if "resource_group_name" not in azure:
        raise WebserviceException("Error, azure.resource_group_name is required.")
    validate_service_name(name)  # before any Azure resource is registered
    resolved = v1_configuration(plain).resolve()
    namespace = namespace_of(resolved)
    service_account = plain.get("service_account_name") or name
    if isinstance(service_account, str) and service_account.startswith("${aksml:"):
        raise WebserviceException("Error, service_account_name must be a plain value.")
    args: AzureServiceResourcesArgs = {
        "resource_group_name": azure["resource_group_name"],
        "namespace": namespace,
        "service_account_name": service_account,
        "enable_app_insights": resolved.enable_app_insights
        and not plain.get("app_insights_connection_string"),
        "create_app_insights_secret": False,
        "collect_model_data": resolved.collect_model_data
        and not plain.get("data_collection_blob_url"),
    }
    wants_identity = (
        bool(azure.get("models"))
        or args["collect_model_data"]
        or azure.get("workload_identity_enabled", False)
    )
    if wants_identity and plain.get("workload_identity_client_id"):
        raise WebserviceException(
            "Error, give either workload_identity_client_id or the azure section's "
            "identity (models, collect_model_data, workload_identity_enabled), not both."
        )
    for key in _PASSED_THROUGH:
        if key in azure:
            args[key] = azure[key]  # type: ignore[literal-required]
    if "cluster_id" in azure:
        args["cluster_id"] = azure["cluster_id"]
    else:
        cluster = azure.get("cluster_name", plain.get("compute_target_name"))
        if cluster is not None:
            args["compute_target_name"] = cluster
            if "cluster_resource_group_name" in azure:
                args["cluster_resource_group_name"] = azure["cluster_resource_group_name"]
    if "kubernetes_provider_enabled" in azure:
        args["kubernetes_provider_enabled"] = azure["kubernetes_provider_enabled"]
    if "image" in azure:
        args["image"] = {"repository": name, **azure["image"]}
        args["image_source"] = _image_source(plain)
    if "token_auth_application" in azure:
        if not resolved.token_auth_enabled:
            raise WebserviceException(
                "Error, azure.token_auth_application needs token_auth_enabled=True (the "
                "app registration is created only for token auth)."
            )
        if plain.get("token_issuer") or plain.get("token_audience"):
            raise WebserviceException(
                "Error, give either token_issuer/token_audience or "
                "azure.token_auth_application, not both."
            )
        application: TokenAuthApplicationArgs = {
            "display_name": name,
            "identifier_uri": naming.default_identifier_uri(name),
            **azure["token_auth_application"],
        }
        args["token_auth_application"] = application
    resources = AzureServiceResources(f"{name}-azure", args, pulumi.ResourceOptions(parent=parent))
    _fill(name, azure, resources, plain, deferred)
    providers = (
        {"kubernetes": resources.kubernetes_provider}
        if resources.kubernetes_provider is not None
        else {}
    )
    return resources, pulumi.ResourceOptions(
        parent=parent, providers=providers, depends_on=[resources]
    )


def _image_source(plain: dict[str, Any]) -> ImageSourceArgs:
    """The image build for the service's own code and environment (validated here, before
    any Azure resource is registered)."""
    base = plain.get("image") or DEFAULT_IMAGE
    if not isinstance(base, str) or base.startswith("${aksml:"):
        raise WebserviceException(
            "Error, with azure.image the image argument is the build's base image and must be "
            "a plain value."
        )
    if plain.get("code_in_image"):
        raise WebserviceException(
            "Error, azure.image builds the code into the image: drop code_in_image."
        )
    if plain.get("runtime_mode") == "proxy":
        raise WebserviceException(
            "Error, azure.image builds the in-process runtime image; runtime_mode 'proxy' "
            "runs your own model-server image."
        )
    entry, source = plain.get("entry_script"), plain.get("source_directory")
    if not entry or not source:
        raise WebserviceException("Error, azure.image needs entry_script and source_directory.")
    if Path(str(source)).name in ("", ".", ".."):
        raise WebserviceException(
            f"Error, with azure.image source_directory {source!r} must end with the folder's "
            "name (it names the code's directory in the image)."
        )
    requirements = environment_spec(plain.get("environment") or {})
    build: ImageSourceArgs = {
        "source_directory": str(source),
        "entry_script": str(entry),
        "base_image": base,
        "pip_requirements": list(requirements.pip_requirements),
    }
    if requirements.index_url:
        build["index_url"] = requirements.index_url
    return build


def _defer(
    key: str,
    value: pulumi.Output[Any],
    plain: dict[str, Any],
    deferred: dict[str, pulumi.Output[Any]],
) -> None:
    plain[key] = placeholder(key)
    deferred[placeholder(key)] = value


def _fill(
    name: str,
    azure: AzureArgs,
    resources: AzureServiceResources,
    plain: dict[str, Any],
    deferred: dict[str, pulumi.Output[Any]],
) -> None:
    """Point the service's deferrable arguments and models at the Azure resources."""
    if resources.has_identity:
        _defer("workload_identity_client_id", resources.client_id, plain, deferred)
    if resources.has_app_insights:
        _defer(
            "app_insights_connection_string",
            resources.app_insights_connection_string,
            plain,
            deferred,
        )
    if resources.has_data_container:
        _defer("data_collection_blob_url", resources.data_collection_blob_url, plain, deferred)
    if "image" in azure:
        # the built image holds the code and the environment: no ConfigMap, no pip init
        _defer("image", resources.image_ref, plain, deferred)
        plain["code_in_image"] = True
        plain.pop("environment", None)
    if "token_auth_application" in azure:
        _defer("token_issuer", resources.token_issuer, plain, deferred)
        _defer("token_audience", resources.token_audience, plain, deferred)
    uploads = azure.get("models", [])
    if uploads:
        base = resources.planned_model_container_url
        if base is None:
            raise WebserviceException(
                "Error, azure.storage_account_id must be a plain resource id when "
                "azure.models are uploaded (the model URLs are part of the pod spec)."
            )
        models = list(plain.get("models") or [])
        for model in uploads:
            version = model.get("version", 1)
            models.append(
                {
                    "name": model["name"],
                    "version": str(version),
                    "source": "blob",
                    "url": naming.blob_url_prefix(base, model["name"], version),
                }
            )
        plain["models"] = models
