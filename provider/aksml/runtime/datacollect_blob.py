"""Azure Blob sink for model data collection: one append blob per partition file.

``azure-storage-blob`` and ``azure-identity`` come with the ``azure`` extra and are imported
only when this sink is built. The URL names a container and optionally a prefix inside it
(``https://<account>.blob.core.windows.net/<container>[/<prefix>]``). Credentials: a SAS token
in the URL's query is used as is; otherwise ``DefaultAzureCredential`` (workload identity in
AKS). Never log the URL's query: it may hold a SAS signature.
"""

from __future__ import annotations

import contextlib
from typing import Any, Final, Protocol
from urllib.parse import urlsplit, urlunsplit

from aksml.errors import WebserviceException

BLOCK_BYTES: Final = 4 * 1024 * 1024
"""Largest append-block call (the limit of every service version that supports append blobs)."""
CONTENT_TYPE: Final = "application/x-ndjson"
"""Content type set on created blobs."""


class BlobLike(Protocol):
    """The part of ``azure.storage.blob.BlobClient`` the sink uses."""

    def create_append_blob(self, **kwargs: Any) -> Any:
        """Create an empty append blob."""

    def append_block(self, data: bytes, **kwargs: Any) -> Any:
        """Append one block."""


class ContainerLike(Protocol):
    """The part of ``azure.storage.blob.ContainerClient`` the sink uses."""

    def get_blob_client(self, blob: str) -> BlobLike:
        """A client for one blob of the container."""

    def close(self) -> None:
        """Close the HTTP pipeline."""


def split_container_url(url: str) -> tuple[str, str]:
    """``(container URL with query, blob-name prefix)`` from a container[/prefix] URL.

    Azurite-style URLs (``http://127.0.0.1:10000/<account>/<container>/…``) keep the account
    segment in the container URL.
    """
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    host = parts.hostname or ""
    # IP-style endpoints (Azurite, Azure Stack) carry the account as the first path segment
    account_in_path = host.replace(".", "").isdigit() or host == "localhost"
    keep = 2 if account_in_path else 1
    if len(segments) < keep:
        raise WebserviceException(
            f"invalid data collection blob URL {urlunsplit(parts._replace(query=''))}: "
            "expected https://<account>.blob.core.windows.net/<container>[/<prefix>]"
        )
    container_path = "/" + "/".join(segments[:keep])
    prefix = "/".join(segments[keep:])
    container_url = urlunsplit(parts._replace(path=container_path, fragment=""))
    return container_url, (prefix + "/" if prefix else "")


class BlobSink:
    """Appends JSON lines to append blobs; creates each blob once (never overwrites)."""

    def __init__(self, container: ContainerLike, *, prefix: str = "", label: str = "") -> None:
        """Wrap a container client (real or fake); see :func:`blob_sink_from_url`."""
        self.container = container
        """Container client that receives the blobs."""
        self.prefix = prefix
        """Blob-name prefix (ends with ``/`` or is empty)."""
        self.label = label or "azure blob container"
        """Secret-free description."""
        self._created: set[str] = set()

    def append(self, path: str, data: bytes) -> None:
        """Append ``data`` to blob ``<prefix><path>`` in blocks of at most 4 MiB."""
        name = self.prefix + path
        blob = self.container.get_blob_client(name)
        if name not in self._created:
            self._create(blob)
            self._created.add(name)
        for start in range(0, len(data), BLOCK_BYTES):
            blob.append_block(data[start : start + BLOCK_BYTES])

    def _create(self, blob: BlobLike) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
        from azure.storage.blob import ContentSettings

        # If-None-Match: * -- a blob written before a restart is appended to, not replaced
        with contextlib.suppress(ResourceExistsError, ResourceModifiedError):
            blob.create_append_blob(
                content_settings=ContentSettings(content_type=CONTENT_TYPE),
                match_condition=MatchConditions.IfMissing,
            )

    def close(self) -> None:
        """Close the container client's HTTP pipeline."""
        self.container.close()

    def describe(self) -> str:
        """Container URL without query."""
        return self.label


def blob_sink_from_url(url: str, credential: Any = None) -> BlobSink:
    """Build a :class:`BlobSink` for a container URL (SAS in the query, or workload identity).

    ``credential`` overrides the default (``DefaultAzureCredential`` when the URL has no SAS).
    Raises :class:`WebserviceException` when the ``azure`` extra is not installed.
    """
    try:
        from azure.storage.blob import ContainerClient
    except ImportError:
        raise WebserviceException(
            "data collection to Azure Blob needs the 'azure' extra: pip install 'aksml[azure]'"
        ) from None
    from aksml.runtime.telemetry import quiet_azure_sdk_logs

    quiet_azure_sdk_logs()
    container_url, prefix = split_container_url(url)
    has_sas = "sig=" in urlsplit(container_url).query
    if credential is None and not has_sas:
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:
            raise WebserviceException(
                "data collection to Azure Blob needs the 'azure' extra: pip install 'aksml[azure]'"
            ) from None
        credential = DefaultAzureCredential()
    client = ContainerClient.from_container_url(container_url, credential=credential)
    label = "azure blob " + urlunsplit(urlsplit(container_url)._replace(query="")) + "/" + prefix
    return BlobSink(client, prefix=prefix, label=label)
