"""How ``AksWebservice`` uses its ``azure`` args section: one ``AzureServiceResources`` child
whose outputs fill the service's deferrable arguments (workload identity client id, App
Insights connection string, data-collection blob URL), extra ``blob`` models for uploaded
files, and the Kubernetes provider for the cluster."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi

from aksml.azure import naming
from aksml.azure.args import AzureArgs, AzureModelArgs, ImageSourceArgs, TokenAuthApplicationArgs
from aksml.azure.resources import AzureServiceResources, AzureServiceResourcesArgs
from aksml.errors import WebserviceException
from aksml.plan import placeholder
from aksml.plan.inputs import environment_spec
from aksml.plan.metadata import namespace_of
from aksml.plan.settings import DEFAULT_IMAGE
from aksml.v1.resolved import ResolvedServiceConfig

if TYPE_CHECKING:
    from aksml.plan.endpoint import EndpointConfigurations

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
    resolved: ResolvedServiceConfig,
) -> tuple[AzureServiceResources, pulumi.ResourceOptions]:
    """Create ``<name>-azure`` and point the service's arguments at it.

    ``plain``/``deferred`` are the webservice's arguments after placeholder substitution; they
    are updated in place (workload arguments only: ``resolved``, the service's validated v1
    configuration, stays valid). Returns the child and the options every Kubernetes child of
    the service must use (the cluster's provider unless the stack passed one, and a dependency
    on the Azure resources so pods start after their identity, roles and blobs exist).
    """
    if "resource_group_name" not in azure:
        raise WebserviceException("Error, azure.resource_group_name is required.")
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
    if any("versions" in model for model in azure.get("models", [])):
        raise WebserviceException("Error, azure.models[].versions is for AksEndpoint only.")
    _common(name, azure, plain, resolved.token_auth_enabled, args)
    if "image" in azure:
        args["image"] = {"repository": name, **azure["image"]}
        args["image_source"] = _image_source(plain)
    resources = AzureServiceResources(f"{name}-azure", args, pulumi.ResourceOptions(parent=parent))
    _fill(name, azure, resources, plain, deferred)
    return resources, _k8s_options(parent, resources)


def _k8s_options(
    parent: pulumi.ComponentResource, resources: AzureServiceResources
) -> pulumi.ResourceOptions:
    """Options of every Kubernetes child: the cluster's provider unless the stack passed one,
    and a dependency on the whole Azure child."""
    providers = (
        {"kubernetes": resources.kubernetes_provider}
        if resources.kubernetes_provider is not None
        else {}
    )
    return pulumi.ResourceOptions(parent=parent, providers=providers, depends_on=[resources])


def _common(
    name: str,
    azure: AzureArgs,
    plain: dict[str, Any],
    token_auth_enabled: bool,
    args: AzureServiceResourcesArgs,
) -> None:
    """The settings a webservice and an endpoint pass alike: resources, cluster, token app."""
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
    if "token_auth_application" in azure:
        if not token_auth_enabled:
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


def attach_azure_endpoint(
    parent: pulumi.ComponentResource,
    name: str,
    azure: AzureArgs,
    plain: dict[str, Any],
    deferred: dict[str, pulumi.Output[Any]],
    data: EndpointConfigurations,
) -> tuple[AzureServiceResources, pulumi.ResourceOptions]:
    """``attach_azure`` for an ``AksEndpoint``: one ``<name>-azure`` shared by every version
    (one identity trusted by each version's service account, one App Insights, one storage
    account with the uploaded models and the ``modeldata`` container). ``data`` is the
    endpoint's validated configuration (checked before any Azure resource is registered)."""
    if "resource_group_name" not in azure:
        raise WebserviceException("Error, azure.resource_group_name is required.")
    versions: list[dict[str, Any]] = [dict(v) for v in plain["versions"]]
    plain["versions"] = versions
    names = [v.spec.version_name for v in data.versions]
    sources = _endpoint_image_sources(azure, versions, names)
    uploads = azure.get("models", [])
    for model in uploads:
        unknown = sorted(set(model.get("versions", [])) - set(names))
        if unknown:
            raise WebserviceException(
                f"Error, azure.models {model['name']!r} names unknown versions: "
                f"{', '.join(unknown)}."
            )
    collects = [
        i
        for i, v in enumerate(data.versions)
        if v.config.collect_model_data and not versions[i].get("data_collection_blob_url")
    ]
    wants_identity = (
        bool(uploads) or bool(collects) or azure.get("workload_identity_enabled", False)
    )
    accounts = _endpoint_service_accounts(name, versions, names, wants_identity)
    first = data.versions[0].config
    args: AzureServiceResourcesArgs = {
        "resource_group_name": azure["resource_group_name"],
        "namespace": data.namespace,
        "service_account_name": accounts[0],
        "federated_service_accounts": accounts[1:],
        "enable_app_insights": first.enable_app_insights
        and not plain.get("app_insights_connection_string"),
        "create_app_insights_secret": False,
        "collect_model_data": bool(collects),
    }
    _common(name, azure, plain, first.token_auth_enabled, args)
    if sources:
        args["image"] = {"repository": name, **azure["image"]}
        args["image_sources"] = sources
    if "models" in args:
        args["models"] = [
            {k: v for k, v in model.items() if k != "versions"}  # type: ignore[misc]
            for model in uploads
        ]
    resources = AzureServiceResources(f"{name}-azure", args, pulumi.ResourceOptions(parent=parent))
    _fill_endpoint_versions(resources, versions, names, sources, collects, deferred)
    _fill_shared(azure, resources, plain, deferred)
    if uploads:
        _add_uploaded_models(resources, uploads, versions, names)
    return resources, _k8s_options(parent, resources)


def _endpoint_image_sources(
    azure: AzureArgs, versions: list[dict[str, Any]], names: list[str]
) -> dict[str, ImageSourceArgs]:
    """One image per version that ships its own code; versions with an image keep it."""
    sources: dict[str, ImageSourceArgs] = {}
    if "image" in azure:
        for index, version in enumerate(versions):
            if version.get("source_directory"):
                sources[names[index]] = _image_source(version)
        if not sources:
            raise WebserviceException(
                "Error, azure.image needs at least one version with entry_script and "
                "source_directory."
            )
    return sources


def _endpoint_service_accounts(
    name: str, versions: list[dict[str, Any]], names: list[str], wants_identity: bool
) -> list[str]:
    """The versions' service accounts (each trusted by the shared identity), in order."""
    from aksml.plan.endpoint import version_object_name

    accounts: list[str] = []
    for index, version in enumerate(versions):
        if wants_identity and version.get("workload_identity_client_id"):
            raise WebserviceException(
                f"Error, version {names[index]!r}: give either workload_identity_client_id or "
                "the azure section's identity, not both."
            )
        account = version.get("service_account_name") or version_object_name(name, names[index])
        if not isinstance(account, str) or account.startswith("${aksml:"):
            raise WebserviceException("Error, service_account_name must be a plain value.")
        if account not in accounts:
            accounts.append(account)
    return accounts


def _fill_endpoint_versions(
    resources: AzureServiceResources,
    versions: list[dict[str, Any]],
    names: list[str],
    sources: dict[str, ImageSourceArgs],
    collects: list[int],
    deferred: dict[str, pulumi.Output[Any]],
) -> None:
    """Point each version's image, identity and data sink at the Azure outputs."""

    def version_defer(index: int, key: str, value: pulumi.Output[Any]) -> None:
        token = placeholder(f"versions.{index}.{key}")
        versions[index][key] = token
        deferred[token] = value

    for index, vname in enumerate(names):
        if vname in sources:
            # the built image holds the version's code and environment
            version_defer(index, "image", _ref_of(resources.image_refs, vname))
            versions[index]["code_in_image"] = True
            versions[index].pop("environment", None)
        if resources.has_identity:
            version_defer(index, "workload_identity_client_id", resources.client_id)
        if index in collects:
            version_defer(index, "data_collection_blob_url", resources.data_collection_blob_url)


def _add_uploaded_models(
    resources: AzureServiceResources,
    uploads: Sequence[AzureModelArgs],
    versions: list[dict[str, Any]],
    names: list[str],
) -> None:
    """Add each uploaded model (a ``blob`` model) to the versions it names (default: all)."""
    base = _model_container_url(resources)
    for model in uploads:
        entry = _uploaded_model(base, model)
        for index, vname in enumerate(names):
            if vname in model.get("versions", names):
                versions[index]["models"] = [*(versions[index].get("models") or []), entry]


def _ref_of(refs: pulumi.Output[dict[str, str]], key: str) -> pulumi.Output[str]:
    """One image reference out of ``image_refs``."""
    return refs.apply(lambda r: r[key])


def _uploaded_model(base: str, model: AzureModelArgs) -> dict[str, Any]:
    """The ``blob`` model argument for an uploaded model."""
    version = model.get("version", 1)
    return {
        "name": model["name"],
        "version": str(version),
        "source": "blob",
        "url": naming.blob_url_prefix(base, model["name"], version),
    }


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


def _fill_shared(
    azure: AzureArgs,
    resources: AzureServiceResources,
    plain: dict[str, Any],
    deferred: dict[str, pulumi.Output[Any]],
) -> None:
    """What a webservice and an endpoint take alike from the Azure resources: the App
    Insights connection string and the token issuer and audience."""
    if resources.has_app_insights:
        _defer(
            "app_insights_connection_string",
            resources.app_insights_connection_string,
            plain,
            deferred,
        )
    if "token_auth_application" in azure:
        _defer("token_issuer", resources.token_issuer, plain, deferred)
        _defer("token_audience", resources.token_audience, plain, deferred)


def _model_container_url(resources: AzureServiceResources) -> str:
    """Where uploaded models are, known when the pod spec is planned (else an error)."""
    base = resources.planned_model_container_url
    if base is None:
        raise WebserviceException(
            "Error, azure.storage_account_id must be a plain resource id when "
            "azure.models are uploaded (the model URLs are part of the pod spec)."
        )
    return base


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
    if resources.has_data_container:
        _defer("data_collection_blob_url", resources.data_collection_blob_url, plain, deferred)
    if "image" in azure:
        # the built image holds the code and the environment: no ConfigMap, no pip init
        _defer("image", resources.image_ref, plain, deferred)
        plain["code_in_image"] = True
        plain.pop("environment", None)
    _fill_shared(azure, resources, plain, deferred)
    uploads = azure.get("models", [])
    if uploads:
        base = _model_container_url(resources)
        plain["models"] = [
            *(plain.get("models") or []),
            *(_uploaded_model(base, model) for model in uploads),
        ]
