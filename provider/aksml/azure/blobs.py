"""Storage: a storage account without shared keys (or a given one), the model container with
the uploaded model blobs, and the ``modeldata`` container for collected data; blob data roles
scoped to single containers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import authorization, managedidentity, storage

from aksml.azure import naming
from aksml.azure.settings import ServiceSettings


@dataclass(frozen=True)
class Account:
    """The storage account in use (created here or given by id)."""

    id: pulumi.Output[str]
    """Its resource id."""
    name: pulumi.Output[str]
    """Its name."""
    resource_group_name: pulumi.Output[str]
    """Its resource group."""


@dataclass(frozen=True)
class ModelStore:
    """Where the uploaded models are."""

    container_url: pulumi.Output[str]
    """URL of the model container."""
    blob_urls: pulumi.Output[dict[str, str]]
    """Path below the pod's model root (``<model>/<version>/<file>``) -> blob URL."""
    volume: pulumi.Output[dict[str, Any]]
    """Inline Blob CSI volume mounting the container read-only with workload identity."""


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


def storage_account(name: str, settings: ServiceSettings, parent: pulumi.Resource) -> Account:
    """``storage_account_id``'s account, or ``<name>-storage``: key-less, TLS 1.2, private."""
    existing = settings.args.get("storage_account_id")
    if existing is not None:
        account_id = pulumi.Output.from_input(existing)
        return Account(
            id=account_id,
            name=account_id.apply(naming.resource_name_of),
            resource_group_name=account_id.apply(naming.resource_group_of),
        )
    account = storage.StorageAccount(
        f"{name}-storage",
        account_name=settings.storage_account_name,
        resource_group_name=settings.resource_group_name,
        location=settings.location,
        kind="StorageV2",
        sku={"name": "Standard_LRS"},
        allow_shared_key_access=False,
        allow_blob_public_access=False,
        default_to_o_auth_authentication=True,
        enable_https_traffic_only=True,
        minimum_tls_version="TLS1_2",
        tags=settings.tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return Account(
        id=account.id,
        name=pulumi.Output.from_input(settings.storage_account_name),
        resource_group_name=pulumi.Output.from_input(settings.resource_group_name),
    )


def _deployer_grant(
    name: str,
    settings: ServiceSettings,
    account: Account,
    parent: pulumi.Resource,
    opts: pulumi.ResourceOptions,
) -> authorization.RoleAssignment:
    """The principal running Pulumi may write the model container (to upload the blobs)."""
    deployer = authorization.get_client_config_output(
        opts=pulumi.InvokeOutputOptions(parent=parent)
    )
    return _grant(
        f"{name}-deployer-models-contributor",
        deployer.object_id,
        naming.STORAGE_BLOB_DATA_CONTRIBUTOR,
        account.id,
        settings.model_container_name,
        settings.deployer_principal_type,
        opts,
    )


def model_store(
    name: str,
    settings: ServiceSettings,
    account: Account,
    identity: managedidentity.UserAssignedIdentity,
    parent: pulumi.Resource,
) -> ModelStore:
    """``<name>-models``, readable by the pods' identity, with one blob per model file."""
    container_name = settings.model_container_name
    container = storage.BlobContainer(
        f"{name}-models",
        account_name=account.name,
        resource_group_name=account.resource_group_name,
        container_name=container_name,
        public_access=storage.PublicAccess.NONE,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    after_container = pulumi.ResourceOptions(parent=parent, depends_on=[container])
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
    if settings.grant_deployer:
        upload_deps.append(_deployer_grant(name, settings, account, parent, after_container))
    for blob in settings.blobs:
        storage.Blob(
            naming.blob_child_name(name, blob.blob_name),
            account_name=account.name,
            resource_group_name=account.resource_group_name,
            container_name=container_name,
            blob_name=blob.blob_name,
            type=storage.BlobType.BLOCK,
            source=pulumi.FileAsset(str(blob.source)),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=upload_deps),
        )
    blob_names = [b.blob_name for b in settings.blobs]
    return ModelStore(
        container_url=account.name.apply(lambda a: naming.container_url(a, container_name)),
        blob_urls=account.name.apply(
            lambda a: {b: naming.blob_url(a, container_name, b) for b in blob_names}
        ),
        volume=pulumi.Output.all(
            account.name, account.resource_group_name, identity.client_id
        ).apply(lambda v: naming.blob_csi_volume("azure-models", v[0], container_name, v[2], v[1])),
    )


def data_container(
    name: str,
    account: Account,
    identity: managedidentity.UserAssignedIdentity,
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    """``<name>-modeldata``, writable by the pods' identity only; returns its URL."""
    container = storage.BlobContainer(
        f"{name}-modeldata",
        account_name=account.name,
        resource_group_name=account.resource_group_name,
        container_name=naming.MODEL_DATA_CONTAINER,
        public_access=storage.PublicAccess.NONE,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    _grant(
        f"{name}-modeldata-contributor",
        identity.principal_id,
        naming.STORAGE_BLOB_DATA_CONTRIBUTOR,
        account.id,
        naming.MODEL_DATA_CONTAINER,
        "ServicePrincipal",
        pulumi.ResourceOptions(parent=parent, depends_on=[container]),
    )
    return account.name.apply(lambda a: naming.container_url(a, naming.MODEL_DATA_CONTAINER))
