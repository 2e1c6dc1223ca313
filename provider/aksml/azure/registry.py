"""The service image(s): an Azure Container Registry (created or given), the images built from
generated Dockerfiles and pushed with pulumi-docker-build, and AcrPull for the kubelet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi_azure_native import authorization, containerregistry

from aksml.azure import image as images
from aksml.azure import naming
from aksml.azure.cluster import ClusterRef
from aksml.azure.settings import ImageSettings, ServiceSettings
from aksml.errors import WebserviceException

if TYPE_CHECKING:
    import pulumi_docker_build as docker_build


@dataclass(frozen=True)
class Images:
    """The pushed image(s) and their registry."""

    ref: pulumi.Output[Any]
    """The single image of ``image_source`` (None with ``image_sources``)."""
    refs: pulumi.Output[dict[str, str]]
    """The images of ``image_sources`` by key."""
    login_server: pulumi.Output[str]
    """The registry's login server."""
    registry_id: pulumi.Output[str]
    """The registry's resource id."""


@dataclass(frozen=True)
class _Registry:
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    server: pulumi.Output[str]
    created: list[pulumi.Resource]


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


def _registry(
    name: str, plan: ImageSettings, settings: ServiceSettings, parent: pulumi.Resource
) -> _Registry:
    existing = plan.args.get("registry_id")
    if existing is not None:
        registry_id = pulumi.Output.from_input(existing)
        registry_name = registry_id.apply(naming.resource_name_of)
        return _Registry(
            registry_id,
            registry_name,
            registry_id.apply(naming.resource_group_of),
            registry_name.apply(images.login_server),
            [],
        )
    registry = containerregistry.Registry(
        f"{name}-acr",
        registry_name=plan.registry_name,
        resource_group_name=settings.resource_group_name,
        location=settings.location,
        sku={"name": plan.sku},
        admin_user_enabled=plan.push_credentials == "admin",
        tags=settings.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return _Registry(
        registry.id,
        registry.name,  # waits for the registry before listing credentials
        pulumi.Output.from_input(settings.resource_group_name),
        registry.login_server,
        [registry],
    )


def _push_registries(
    plan: ImageSettings, registry: _Registry, parent: pulumi.Resource
) -> list[docker_build.RegistryArgsDict] | None:
    """The admin credentials to push with (None: the local docker login is used)."""
    if plan.push_credentials != "admin":
        return None
    credentials = containerregistry.list_registry_credentials_output(
        registry_name=registry.name,
        resource_group_name=registry.resource_group_name,
        opts=pulumi.InvokeOutputOptions(parent=parent),
    )
    return [
        {
            "address": registry.server,
            "username": credentials.apply(_registry_username),
            "password": pulumi.Output.secret(credentials.apply(_registry_password)),
        }
    ]


def build_images(
    name: str,
    settings: ServiceSettings,
    cluster: ClusterRef | None,
    parent: pulumi.Resource,
) -> Images:
    """``<name>-image`` (or ``<name>-image-<key>`` each), pushed to ``<name>-acr`` or the given
    registry, and ``<name>-acr-pull`` for the cluster's kubelet identity."""
    import pulumi_docker_build as docker_build  # the 'azure' extra

    plan = settings.image
    assert plan is not None  # only called when an image is asked for
    registry = _registry(name, plan, settings, parent)
    registries = _push_registries(plan, registry, parent)
    refs: dict[str | None, pulumi.Output[str]] = {}
    for key, build in plan.builds.items():
        refs[key] = docker_build.Image(
            f"{name}-image" if key is None else f"{name}-image-{key}",
            context={"location": build.source_directory},
            dockerfile={"inline": build.dockerfile},
            platforms=plan.platforms,
            push=True,
            build_on_preview=False,
            registries=registries,
            tags=[_image_tag(registry.server, build.repository, build.tag)],
            opts=pulumi.ResourceOptions(parent=parent, depends_on=registry.created),
        ).ref
    if plan.grant_acr_pull:
        assert cluster is not None  # checked by ImageSettings
        authorization.RoleAssignment(
            f"{name}-acr-pull",
            principal_id=cluster.kubelet_object_id(),
            principal_type="ServicePrincipal",
            role_definition_id=registry.id.apply(
                lambda i: naming.role_definition_id(naming.subscription_of(i), images.ACR_PULL)
            ),
            scope=registry.id,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    keyed = {k: v for k, v in refs.items() if k is not None}
    return Images(
        ref=refs.get(None, pulumi.Output.from_input(None)),
        refs=pulumi.Output.all(**keyed) if keyed else pulumi.Output.from_input({}),
        login_server=registry.server,
        registry_id=registry.id,
    )
