"""Where a client finds a service's URI and keys without a cluster client library.

Two sources, both plain files (no kubectl, no kubernetes client):

- Pulumi stack outputs: ``pulumi stack output --json --show-secrets > outputs.json`` (or the
  dict itself), with either the flat outputs of one service or one service's outputs nested
  under the name it was exported as;
- a Kubernetes Secret: a manifest or ``kubectl get secret NAME -o json`` output (YAML or JSON,
  ``data`` base64 or ``stringData``), a multi-document file or ``List``, or a directory where
  the Secret is mounted (files ``primaryKey`` / ``secondaryKey``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aksml.contract import PRIMARY_KEY_FILE, SECONDARY_KEY_FILE
from aksml.errors import WebserviceException

REDACTED = "<redacted>"
"""The value ``aksml render`` writes in place of Secret data."""

PULUMI_SECRET_PLACEHOLDER = "[secret]"
"""What ``pulumi stack output --json`` prints for a secret without ``--show-secrets``."""

# output name variants: Pulumi programs export snake_case, serialize()-shaped JSON uses camelCase
_ALIASES: dict[str, tuple[str, ...]] = {
    "scoring_uri": ("scoring_uri", "scoringUri"),
    "swagger_uri": ("swagger_uri", "swaggerUri"),
    "primary_key": ("primary_key", "primaryKey"),
    "secondary_key": ("secondary_key", "secondaryKey"),
    "token_audience": ("token_audience", "tokenAudience"),
    "name": ("name", "service_name", "serviceName"),
    "state": ("deployment_status", "deploymentStatus", "state"),
}


@dataclass(frozen=True)
class ServiceOutputs:
    """The client-relevant stack outputs of one service."""

    scoring_uri: str | None
    """``scoring_uri`` output; None when the service has none (not deployed or no address)."""
    swagger_uri: str | None
    """``swagger_uri`` output."""
    primary_key: str | None
    """``primary_key`` output (a Pulumi secret: needs ``--show-secrets``)."""
    secondary_key: str | None
    """``secondary_key`` output."""
    token_audience: str | None
    """Token audience, when the service uses token auth and exports it."""
    name: str | None
    """Service name, when exported."""
    state: str | None
    """Deployment status, when exported (used in the 'scoring_uri unavailable' message)."""


def _load_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WebserviceException(f"Error, cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise WebserviceException(f"Error, {path} is neither JSON nor YAML: {exc}") from exc
    return docs[0] if len(docs) == 1 else docs


def _has_uri(outputs: Mapping[str, Any]) -> bool:
    return any(k in outputs for k in _ALIASES["scoring_uri"])


def _pick(outputs: Mapping[str, Any], field: str) -> str | None:
    for key in _ALIASES[field]:
        value = outputs.get(key)
        if value is None:
            continue
        if value == PULUMI_SECRET_PLACEHOLDER:
            raise WebserviceException(
                f"Error, stack output '{key}' is hidden as [secret]; export the outputs with "
                "`pulumi stack output --json --show-secrets`."
            )
        if isinstance(value, str | int | float):
            return str(value)
        if field == "state" and isinstance(value, Mapping):
            return json.dumps(value, sort_keys=True)
    return None


def read_stack_outputs(
    source: Mapping[str, Any] | str | Path, name: str | None = None
) -> ServiceOutputs:
    """Read one service's outputs from a stack-outputs dict or JSON/YAML file.

    ``name`` selects the outputs nested under that key; without it, flat outputs are used when
    they hold a scoring URI, else the single nested object that does.
    """
    data = _load_document(Path(source)) if isinstance(source, str | Path) else source
    if not isinstance(data, Mapping):
        raise WebserviceException("Error, stack outputs must be a JSON object.")
    if name is not None:
        nested = data.get(name)
        if not isinstance(nested, Mapping):
            raise WebserviceException(
                f"Error, stack outputs have no object named '{name}'; "
                f"found: {', '.join(sorted(map(str, data))) or 'nothing'}."
            )
        data = nested
    elif not _has_uri(data):
        candidates = {k: v for k, v in data.items() if isinstance(v, Mapping) and _has_uri(v)}
        if len(candidates) == 1:
            data = next(iter(candidates.values()))
        elif len(candidates) > 1:
            raise WebserviceException(
                "Error, stack outputs hold several services "
                f"({', '.join(sorted(candidates))}); choose one by name."
            )
    return ServiceOutputs(**{field: _pick(data, field) for field in _ALIASES})


def _decode(value: Any, encoded: bool, where: str) -> str:
    if not isinstance(value, str):
        raise WebserviceException(f"Error, {where} is not a string.")
    if value == REDACTED:
        raise WebserviceException(
            f"Error, {where} is '{REDACTED}' (a rendered manifest); read the live Secret "
            "instead: kubectl get secret NAME -o json > secret.json"
        )
    if not encoded:
        return value
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise WebserviceException(f"Error, {where} is not valid base64: {exc}") from exc


def _secret_docs(data: Any) -> list[Mapping[str, Any]]:
    docs = data if isinstance(data, list) else [data]
    found: list[Mapping[str, Any]] = []
    for doc in docs:
        if not isinstance(doc, Mapping):
            continue
        if doc.get("kind") == "List" or (
            isinstance(doc.get("items"), list) and str(doc.get("kind", "")).endswith("List")
        ):
            found.extend(_secret_docs(doc.get("items") or []))
        elif doc.get("kind") == "Secret":
            found.append(doc)
    return found


def _keys_of(secret: Mapping[str, Any], where: str) -> tuple[str, str | None] | None:
    data = secret.get("data") or {}
    string_data = secret.get("stringData") or {}
    values: dict[str, str | None] = {}
    for key in (PRIMARY_KEY_FILE, SECONDARY_KEY_FILE):
        if key in string_data:
            values[key] = _decode(string_data[key], False, f"{where} stringData.{key}")
        elif key in data:
            values[key] = _decode(data[key], True, f"{where} data.{key}")
        else:
            values[key] = None
    primary = values[PRIMARY_KEY_FILE]
    if primary is None:
        return None
    return primary, values[SECONDARY_KEY_FILE]


def read_secret_keys(
    source: str | Path | Mapping[str, Any], name: str | None = None
) -> tuple[str, str | None]:
    """(primary, secondary) keys from a Secret manifest, ``kubectl get -o json`` output, a
    multi-document file or a mounted Secret directory. ``name`` picks the Secret by
    ``metadata.name`` when the file holds several."""
    if isinstance(source, str | Path) and Path(source).is_dir():
        directory = Path(source)
        primary_file = directory / PRIMARY_KEY_FILE
        if not primary_file.is_file():
            raise WebserviceException(f"Error, {directory} has no '{PRIMARY_KEY_FILE}' file.")
        secondary_file = directory / SECONDARY_KEY_FILE
        secondary = (
            secondary_file.read_text(encoding="utf-8").strip() if secondary_file.is_file() else None
        )
        return primary_file.read_text(encoding="utf-8").strip(), secondary
    where = str(source) if isinstance(source, str | Path) else "Secret"
    data = _load_document(Path(source)) if isinstance(source, str | Path) else source
    secrets = _secret_docs(data)
    if name is not None:
        secrets = [s for s in secrets if (s.get("metadata") or {}).get("name") == name]
    candidates = [
        (s, keys)
        for s in secrets
        if (keys := _keys_of(s, f"{where} Secret {(s.get('metadata') or {}).get('name')}"))
    ]
    if not candidates:
        which = f" named '{name}'" if name else ""
        raise WebserviceException(
            f"Error, {where} has no Secret{which} with a '{PRIMARY_KEY_FILE}' entry."
        )
    if len(candidates) > 1:
        names = ", ".join(str((s.get("metadata") or {}).get("name")) for s, _ in candidates)
        raise WebserviceException(f"Error, {where} has several key Secrets ({names}); pick one.")
    return candidates[0][1]
