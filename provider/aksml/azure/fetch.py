"""Init-container model fetcher for Azure Blob: ``python -m aksml.azure.fetch DEST URL [...]``.

Each URL names a blob or a "folder" (a name prefix) in a container. Every blob under it is
downloaded to DEST, keeping its path below the prefix. Authentication needs no account key:
with workload identity (the webhook sets ``AZURE_FEDERATED_TOKEN_FILE``, ``AZURE_CLIENT_ID``,
``AZURE_TENANT_ID`` and ``AZURE_AUTHORITY_HOST``) the pod's service-account token is exchanged
for a storage token; otherwise the URL is used as given (a SAS in its query, or public).

Standard library only, so that it runs in any image that has aksml, without the azure extra.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

STORAGE_SCOPE: Final = "https://storage.azure.com/.default"
"""OAuth scope of the Azure Storage data plane."""
STORAGE_API_VERSION: Final = "2023-11-03"
"""``x-ms-version`` sent to the Blob service (needed for bearer-token requests)."""
DEFAULT_AUTHORITY: Final = "https://login.microsoftonline.com/"
CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TIMEOUT_SECONDS: Final = 60.0


class FetchError(Exception):
    """A blob could not be listed or downloaded (the init container exits non-zero)."""


@dataclass(frozen=True)
class BlobLocation:
    """A URL split into its container URL, the blob-name prefix and the SAS query (if any)."""

    container_url: str
    """``<scheme>://<host>/<container>`` (no query)."""
    prefix: str
    """Blob name or folder prefix inside the container (no leading slash)."""
    query: str
    """The URL's query string (a SAS), or empty."""


def parse_blob_url(url: str) -> BlobLocation:
    """Split a blob or folder URL; the first path segment is the container."""
    parts = urllib.parse.urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("https", "http") or not parts.netloc or not segments:
        raise FetchError(f"not a blob URL: {_redact(url)}")
    container = urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{segments[0]}", "", ""))
    prefix = "/".join(urllib.parse.unquote(s) for s in segments[1:])
    return BlobLocation(container, prefix, parts.query)


def _redact(url: str) -> str:
    """A URL without its query (a SAS is a credential: never print it)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def workload_identity_token(env: Mapping[str, str], timeout: float = TIMEOUT_SECONDS) -> str | None:
    """A storage access token for the pod's workload identity, or None when the pod has none."""
    token_file = env.get("AZURE_FEDERATED_TOKEN_FILE")
    if not token_file:
        return None
    missing = [k for k in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID") if not env.get(k)]
    if missing:
        raise FetchError(f"workload identity is incomplete: {', '.join(missing)} not set")
    assertion = Path(token_file).read_text(encoding="utf-8").strip()
    authority = env.get("AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY
    endpoint = f"{authority.rstrip('/')}/{env['AZURE_TENANT_ID']}/oauth2/v2.0/token"
    form = urllib.parse.urlencode(
        {
            "client_id": env["AZURE_CLIENT_ID"],
            "scope": STORAGE_SCOPE,
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
        }
    ).encode()
    request = urllib.request.Request(endpoint, data=form, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise FetchError(f"token exchange failed: HTTP {exc.code}: {detail}") from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise FetchError("token exchange returned no access_token")
    return token


def _request(url: str, token: str | None) -> urllib.request.Request:
    request = urllib.request.Request(url)
    request.add_header("x-ms-version", STORAGE_API_VERSION)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    return request


def _with_query(base: str, params: Mapping[str, str], sas: str) -> str:
    query = urllib.parse.urlencode(params)
    return f"{base}?{'&'.join(q for q in (query, sas) if q)}"


def list_blobs(
    location: BlobLocation, token: str | None, timeout: float = TIMEOUT_SECONDS
) -> list[str]:
    """Names of the blobs below ``location.prefix`` treated as a folder, following pages."""
    prefix = f"{location.prefix.rstrip('/')}/" if location.prefix else ""
    names: list[str] = []
    marker = ""
    while True:
        params = {"restype": "container", "comp": "list", "prefix": prefix}
        if marker:
            params["marker"] = marker
        url = _with_query(location.container_url, params, location.query)
        with urllib.request.urlopen(_request(url, token), timeout=timeout) as response:
            root = ET.fromstring(response.read())
        names += [n.text for n in root.iterfind("./Blobs/Blob/Name") if n.text]
        marker = root.findtext("NextMarker") or ""
        if not marker:
            return names


def _target(dest: Path, relative: str) -> Path:
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise FetchError(f"refusing to write blob path {relative!r} outside {dest}")
    return dest.joinpath(*pure.parts)


def download(
    location: BlobLocation, blob_name: str, target: Path, token: str | None, timeout: float
) -> int:
    """Download one blob to ``target``; returns its size in bytes."""
    quoted = "/".join(urllib.parse.quote(s, safe="") for s in blob_name.split("/"))
    url = _with_query(f"{location.container_url}/{quoted}", {}, location.query)
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    partial = target.with_name(target.name + ".part")
    with (
        urllib.request.urlopen(_request(url, token), timeout=timeout) as response,
        partial.open("wb") as out,
    ):
        while chunk := response.read(1 << 20):
            out.write(chunk)
            size += len(chunk)
    partial.replace(target)
    return size


def fetch(dest: Path, url: str, token: str | None, timeout: float = TIMEOUT_SECONDS) -> list[Path]:
    """Download the folder (or the single blob) ``url`` names into ``dest``."""
    location = parse_blob_url(url)
    try:
        names = list_blobs(location, token, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code not in (403, 404):  # a SAS for one blob cannot list: fetch it alone
            raise
        names = []
    prefix = f"{location.prefix.rstrip('/')}/" if location.prefix else ""
    if names:
        pairs = [(n, n[len(prefix) :]) for n in names]
    else:
        if not location.prefix:
            raise FetchError(f"container {_redact(url)} holds no blobs")
        pairs = [(location.prefix, PurePosixPath(location.prefix).name)]
    written = []
    for blob_name, relative in pairs:
        target = _target(dest, relative)
        size = download(location, blob_name, target, token, timeout)
        print(f"fetched {blob_name} ({size} bytes) into {target}", flush=True)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Entry point: pairs of DEST URL; exit 0 on success, 1 on a fetch error, 2 on usage."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or len(args) % 2:
        print("usage: python -m aksml.azure.fetch DEST URL [DEST URL ...]", file=sys.stderr)
        return 2
    try:
        token = workload_identity_token(os.environ if env is None else env)
        for dest, url in zip(args[::2], args[1::2], strict=True):
            fetch(Path(dest), url, token)
    except FetchError as exc:
        print(f"aksml fetch: {exc}", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as exc:
        print(f"aksml fetch: HTTP {exc.code} for {_redact(exc.url)}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"aksml fetch: {exc.reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
