"""Pure helpers for the Azure integration: names, resource-id scopes, built-in role ids, blob
layout, URLs and the Kubernetes snippets for workload identity.

Nothing here imports Pulumi or an Azure SDK; every function is deterministic and unit tested.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import quote

from aksml.errors import WebserviceException
from aksml.plan.pod import BLOB_CSI_DRIVER

# --- built-in Azure RBAC role definitions (the GUIDs are the same in every tenant) ---
STORAGE_BLOB_DATA_READER: Final = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
"""'Storage Blob Data Reader': read and list blobs (the pods' model container)."""
STORAGE_BLOB_DATA_CONTRIBUTOR: Final = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
"""'Storage Blob Data Contributor': read, write and delete blobs (the modeldata container, and
the deploying principal on the model container so that ``storage.Blob`` can upload)."""

# --- workload identity (https://azure.github.io/azure-workload-identity) ---
WORKLOAD_IDENTITY_AUDIENCE: Final = "api://AzureADTokenExchange"
"""Audience of the projected service-account token that Entra ID exchanges for a token."""
# (the ServiceAccount annotation and the pod label are the plan's:
# aksml.plan.metadata.WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION / WORKLOAD_IDENTITY_USE_LABEL)

# --- storage ---
DEFAULT_MODEL_CONTAINER: Final = "models"
"""Blob container that holds uploaded model files."""
MODEL_DATA_CONTAINER: Final = "modeldata"
"""Blob container that receives collected model data (collect_model_data), as in AML v1."""
PUBLIC_CLOUD_STORAGE_SUFFIX: Final = "core.windows.net"

_STORAGE_ACCOUNT_RE = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER_RE = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_RESOURCE_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/(?P<rest>.+)$",
    re.IGNORECASE,
)


# --- resource ids and scopes ---
def subscription_of(resource_id: str) -> str:
    """The subscription id in an Azure resource id (``/subscriptions/<id>/resourceGroups/...``)."""
    return _parse_resource_id(resource_id).group("sub")


def resource_group_of(resource_id: str) -> str:
    """The resource group name in an Azure resource id."""
    return _parse_resource_id(resource_id).group("rg")


def resource_name_of(resource_id: str) -> str:
    """The last segment (the resource's own name) of an Azure resource id."""
    _parse_resource_id(resource_id)
    return resource_id.rstrip("/").rsplit("/", 1)[1]


def _parse_resource_id(resource_id: str) -> re.Match[str]:
    match = _RESOURCE_ID_RE.match(resource_id)
    if match is None:
        raise WebserviceException(f"Not an Azure resource id: {resource_id!r}.")
    return match


def role_definition_id(subscription_id: str, role_guid: str) -> str:
    """Full resource id of a built-in role definition, as ``RoleAssignment`` expects it."""
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{role_guid}"
    )


def container_scope(storage_account_id: str, container_name: str) -> str:
    """Resource id of one blob container: the narrowest scope a blob data role can have."""
    _parse_resource_id(storage_account_id)
    return f"{storage_account_id.rstrip('/')}/blobServices/default/containers/{container_name}"


# --- names ---
def storage_account_name(component_name: str, salt: str) -> str:
    """A deterministic, valid storage account name (3-24 lowercase letters and digits).

    Storage account names are global across Azure, so the name ends with 10 hex digits of a
    hash of ``salt`` (the project and stack) and ``component_name``; its start keeps up to 14
    letters and digits of ``component_name`` so that it stays recognisable.
    """
    prefix = re.sub(r"[^a-z0-9]", "", component_name.lower())[:14]
    digest = hashlib.sha256(f"{salt}/{component_name}".encode()).hexdigest()[:10]
    name = f"{prefix}{digest}"
    return name if len(name) >= 3 else f"st{name}"


def validate_storage_account_name(name: str) -> str:
    """``name`` if it is a valid storage account name, else a WebserviceException."""
    if not _STORAGE_ACCOUNT_RE.match(name):
        raise WebserviceException(
            f"Invalid storage_account_name {name!r}: use 3-24 lowercase letters and digits."
        )
    return name


def validate_container_name(name: str) -> str:
    """``name`` if it is a valid blob container name, else a WebserviceException."""
    if not _CONTAINER_RE.match(name):
        raise WebserviceException(
            f"Invalid blob container name {name!r}: use 3-63 lowercase letters, digits and "
            "single hyphens, starting and ending with a letter or digit."
        )
    return name


def federated_subject(namespace: str, service_account: str) -> str:
    """The ``sub`` claim of a pod's service-account token, which the federated credential trusts."""
    if not _DNS_LABEL_RE.match(namespace):
        raise WebserviceException(f"Invalid Kubernetes namespace {namespace!r}.")
    if not _DNS_SUBDOMAIN_RE.match(service_account):
        raise WebserviceException(f"Invalid Kubernetes service account name {service_account!r}.")
    return f"system:serviceaccount:{namespace}:{service_account}"


def oidc_issuer(issuer_url: str | None) -> str:
    """The cluster's OIDC issuer URL; an error naming the settings to turn on when it is off."""
    if not issuer_url:
        raise WebserviceException(
            "The AKS cluster has no OIDC issuer: enable it (oidc_issuer_profile.enabled) and "
            "workload identity (security_profile.workload_identity.enabled)."
        )
    return issuer_url


# --- blob layout for uploaded models ---
@dataclass(frozen=True)
class ModelBlob:
    """One local model file and the blob it is uploaded to."""

    blob_name: str
    """Blob name inside the model container: ``<model>/<version>/<path inside the model>``.
    The same relative path is used below the pod's model root, as AML v1 laid it out."""
    source: Path
    """The local file."""


def model_blobs(model_name: str, version: int, path: str | Path) -> list[ModelBlob]:
    """The blobs for one model given as a local file or folder, in a stable (sorted) order.

    A file becomes ``<model>/<version>/<file name>``; a folder becomes one blob per regular
    file, named by its POSIX path relative to the folder. Blob names depend only on the model
    name, version and relative paths, so adding a file never renames the others.
    """
    _validate_model_segment("model name", model_name)
    if version < 1:
        raise WebserviceException(f"Invalid model version {version}: versions start at 1.")
    root = Path(path)
    prefix = PurePosixPath(model_name, str(version))
    if root.is_file():
        return [ModelBlob(str(prefix / root.name), root)]
    if not root.is_dir():
        raise WebserviceException(f"Model path {str(root)!r} is neither a file nor a folder.")
    files = sorted(
        (p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix()
    )
    if not files:
        raise WebserviceException(f"Model folder {str(root)!r} holds no files.")
    return [ModelBlob(str(prefix / f.relative_to(root).as_posix()), f) for f in files]


def _validate_model_segment(what: str, value: str) -> None:
    if not value or "/" in value or "\\" in value or value in {".", ".."}:
        raise WebserviceException(f"Invalid {what} {value!r}: it is used as a blob path segment.")


def check_unique_blob_names(blobs: Iterable[ModelBlob]) -> None:
    """Raise if two models would upload to the same blob (same name and version twice)."""
    seen: set[str] = set()
    for blob in blobs:
        if blob.blob_name in seen:
            raise WebserviceException(f"Two models upload to the same blob {blob.blob_name!r}.")
        seen.add(blob.blob_name)


def blob_child_name(component_name: str, blob_name: str) -> str:
    """Pulumi logical name of the ``storage.Blob`` for ``blob_name``: stable forever."""
    return f"{component_name}-model-{blob_name}"


# --- URLs ---
def blob_endpoint(account_name: str, suffix: str = PUBLIC_CLOUD_STORAGE_SUFFIX) -> str:
    """Blob service endpoint of a storage account, without a trailing slash."""
    return f"https://{account_name}.blob.{suffix}"


def container_url(
    account_name: str, container_name: str, suffix: str = PUBLIC_CLOUD_STORAGE_SUFFIX
) -> str:
    """URL of a blob container (what the runtime's blob sink and the fetcher take)."""
    return f"{blob_endpoint(account_name, suffix)}/{container_name}"


def blob_url(
    account_name: str,
    container_name: str,
    blob_name: str,
    suffix: str = PUBLIC_CLOUD_STORAGE_SUFFIX,
) -> str:
    """URL of one blob, each path segment percent-encoded."""
    quoted = "/".join(quote(segment, safe="") for segment in blob_name.split("/"))
    return f"{container_url(account_name, container_name, suffix)}/{quoted}"


def blob_url_prefix(container_url: str, model_name: str, version: int) -> str:
    """URL of an uploaded model's folder (``<container>/<model>/<version>``)."""
    return f"{container_url}/{quote(model_name, safe='')}/{version}"


# --- kubeconfig ---
def decode_kubeconfig(encoded: str) -> str:
    """Decode the base64 kubeconfig returned by ``listManagedClusterUserCredentials``."""
    try:
        text = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise WebserviceException(
            f"The cluster credentials are not a base64 kubeconfig: {exc}"
        ) from exc
    if "clusters" not in text:
        raise WebserviceException("The cluster credentials do not hold a kubeconfig.")
    return text


# --- Kubernetes snippets (plain dicts for the plan) ---
def blob_csi_volume(
    volume_name: str,
    account_name: str,
    container_name: str,
    client_id: str,
    resource_group: str,
) -> dict[str, object]:
    """An inline Azure Blob CSI volume that mounts the model container read-only with the pod's
    workload identity token (blob CSI driver >= 1.27, ``mountWithWorkloadIdentityToken``): no
    account key is read or stored."""
    return {
        "name": volume_name,
        "csi": {
            "driver": BLOB_CSI_DRIVER,
            "readOnly": True,
            "volumeAttributes": {
                "storageaccount": account_name,
                "containerName": container_name,
                "clientID": client_id,
                "resourcegroup": resource_group,
                "mountWithWorkloadIdentityToken": "true",
            },
        },
    }


# --- token auth (Entra ID) ---
ENTRA_LOGIN_HOST: Final = "https://login.microsoftonline.com"
"""Entra ID authority host (public cloud)."""
_TENANT_RE = re.compile(r"^[0-9a-fA-F-]{36}$|^[A-Za-z0-9.-]+$")


def entra_issuer(tenant_id: str) -> str:
    """The ``iss`` of Entra ID v2 access tokens for ``tenant_id``."""
    if not tenant_id or not _TENANT_RE.match(tenant_id):
        raise WebserviceException(f"Invalid Entra ID tenant {tenant_id!r}.")
    return f"{ENTRA_LOGIN_HOST}/{tenant_id}/v2.0"


def default_identifier_uri(name: str) -> str:
    """Default Application ID URI of a service's app registration."""
    return f"api://{name}"


def validate_identifier_uri(uri: str) -> str:
    """``uri`` if Entra ID accepts it as an Application ID URI (``api://`` or ``https://``)."""
    if not re.match(r"^(api|https)://[^\s/]+(/[^\s]*)?$", uri):
        raise WebserviceException(
            f"Invalid identifier_uri {uri!r}: use api://<name> or https://<verified domain>/..."
        )
    return uri
