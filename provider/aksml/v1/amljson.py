"""AML v1 JSON both ways: ``serialize()``, the create payload and import.

See ``docs/configuration.md`` ("AML JSON").

Import (``from_aml_json``) accepts, for ``computeType`` ``AKS`` or ``AKSENDPOINT``:

- a v1 service/endpoint GET payload or ``serialize()`` output (read-only keys such as
  ``state``, ``scoringUri`` or ``createdTime`` are ignored),
- a create payload (``to_create_payload``), and
- an ``az ml model deploy --dc`` deploymentconfig.json (the example in
  https://learn.microsoft.com/azure/machine-learning/v1/how-to-deploy-azure-kubernetes-service:
  ``gpuCores`` top level,
  ``tokenAuthEnabled``, ``computeTargetName``, ``versionName``, ``trafficPercentile``),
- plus, for hand-written (YAML) files, the snake_case parameter names at top level.

Unknown or mistyped keys are errors naming the key and the closest valid one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from aksml.errors import WebserviceException
from aksml.v1.config import (
    AksEndpointDeploymentConfiguration,
    AksServiceDeploymentConfiguration,
    _DeploymentConfigurationBase,
)
from aksml.v1.params import (
    ENDPOINT_PARAMETERS,
    JSON_FLAT,
    JSON_NESTED,
    SERVICE_PARAMETERS,
    describe,
    suggest,
)
from aksml.v1.traffic import EndpointVersionSpec

AnyConfiguration = AksServiceDeploymentConfiguration | AksEndpointDeploymentConfiguration
"""Either deploy configuration."""

VersionConfiguration = tuple[EndpointVersionSpec, AksServiceDeploymentConfiguration]
"""One endpoint version: its routing view and its deploy settings."""

_INVALID: Final = "Invalid configuration, "

# top-level JSON key -> parameter, and object key -> {inner key -> parameter}: from the table
_FLAT: Final[dict[str, str]] = JSON_FLAT
_NESTED: Final[dict[str, dict[str, str]]] = {
    **JSON_NESTED,
    "dataCollection": {**JSON_NESTED["dataCollection"], "eventHubEnabled": ""},
}

# read-only / deployment-time keys of v1 GET, serialize() and create payloads: ignored
_IGNORED: Final = frozenset(
    {
        "name",
        "state",
        "createdTime",
        "updatedTime",
        "error",
        "computeType",
        "compute_type",
        "workspaceName",
        "imageId",
        "imageDigest",
        "imageDetails",
        "scoringUri",
        "swaggerUri",
        "createdBy",
        "deploymentStatus",
        "environmentDetails",
        "modelDetails",
        "isDefault",
        "versionType",
        "type",
        "environmentImageRequest",
        "models",
        "modelConfigMap",
        "location",
        "overwrite",
    }
)

_ENDPOINT_ONLY: Final = frozenset({"versionName", "trafficPercentile", "versions"})


def _json_object(config: _DeploymentConfigurationBase, group: str) -> dict[str, Any]:
    """AML JSON object ``group`` (``autoScaler``, ``containerResourceRequirements``,
    ``livenessProbeRequirements``): every table row under it, in the table's serialized order."""
    return {key: getattr(config, name) for key, name in JSON_NESTED[group].items()}


def _service_serialize(
    config: _DeploymentConfigurationBase, name: str | None, compute_type: str
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "description": config.description,
        "tags": config.tags,
        "properties": config.properties,
        "state": None,
        "createdTime": None,
        "updatedTime": None,
        "error": None,
        "computeType": compute_type,
        "workspaceName": None,
        "imageId": None,
        "imageDigest": None,
        "imageDetails": None,
        "scoringUri": None,
        "createdBy": None,
        "appInsightsEnabled": config.enable_app_insights,
        "authEnabled": config.auth_enabled,
        "autoScaler": _json_object(config, "autoScaler"),
        "computeName": config.compute_target_name,
        "containerResourceRequirements": _json_object(config, "containerResourceRequirements"),
        "dataCollection": {"eventHubEnabled": False, "storageEnabled": config.collect_model_data},
        "maxConcurrentRequestsPerContainer": config.replica_max_concurrent_requests,
        "maxQueueWaitMs": config.max_request_wait_time,
        "livenessProbeRequirements": _json_object(config, "livenessProbeRequirements"),
        "numReplicas": config.num_replicas,
        "deploymentStatus": None,
        "scoringTimeoutMs": config.scoring_timeout_ms,
        "aadAuthEnabled": config.token_auth_enabled,
        "environmentDetails": None,
        "modelDetails": None,
        "isDefault": None,
        "trafficPercentile": None,
        "versionType": None,
        # aksml additions (v1's serialize() dropped them, so they could not round-trip)
        "namespace": config.namespace,
    }
    if isinstance(config, AksServiceDeploymentConfiguration):
        out["storageInitEnabled"] = (
            None if config.blobfuse_enabled is None else not config.blobfuse_enabled
        )
    return out


def serialize(
    config: AnyConfiguration | _DeploymentConfigurationBase, name: str | None = None
) -> dict[str, Any]:
    """``AksWebservice.serialize()`` / ``AksEndpoint.serialize()`` shape for a configuration.

    Keys that only exist for a deployed service (``state``, ``scoringUri``, ...) are null. Keys
    (``primary_key``/``secondary_key``) are never serialized (they are secrets; v1 did not
    either). aksml adds ``namespace`` and ``storageInitEnabled`` (= not ``blobfuse_enabled``) so
    that ``from_aml_json(serialize(c))`` gives back ``c`` minus its keys.
    """
    if not isinstance(config, AksEndpointDeploymentConfiguration):
        return _service_serialize(config, name, "AKS")
    version = config.version_name or name
    if version is None:
        raise WebserviceException(
            f"{_INVALID}serializing an endpoint configuration without version_name needs the "
            "endpoint name (the first version is named after it): serialize(name=...).\n"
        )
    entry = _service_serialize(config, version, "AKS")
    entry["trafficPercentile"] = config.traffic_percentile
    return {
        "name": name,
        "description": config.description,
        "tags": config.tags,
        "properties": config.properties,
        "state": None,
        "createdTime": None,
        "updatedTime": None,
        "error": None,
        "computeName": config.compute_target_name,
        "computeType": "AKSENDPOINT",
        "workspaceName": None,
        "deploymentStatus": None,
        "scoringUri": None,
        "authEnabled": config.auth_enabled,
        "aadAuthEnabled": config.token_auth_enabled,
        "appInsightsEnabled": config.enable_app_insights,
        "namespace": config.namespace,
        "versions": {version: entry},
    }


def _compute_name(config: _DeploymentConfigurationBase, compute_name: str | None) -> str | None:
    if config.compute_target_name is not None:
        return config.compute_target_name
    return compute_name


def _service_payload(
    config: _DeploymentConfigurationBase, name: str, compute_name: str | None
) -> dict[str, Any]:
    keys_given = config.primary_key is not None or config.secondary_key is not None
    payload: dict[str, Any] = {
        "name": name,
        "description": config.description,
        "kvTags": config.tags,
        "properties": config.properties,
        "keys": {
            "primaryKey": config.primary_key if keys_given else None,
            "secondaryKey": config.secondary_key if keys_given else None,
        },
        "computeType": "AKS",
        "computeName": _compute_name(config, compute_name),
        "environmentImageRequest": None,
        "location": None,
        "numReplicas": config.num_replicas,
    }
    if config.collect_model_data is not None:
        payload["dataCollection"] = {
            "storageEnabled": config.collect_model_data,
            "eventHubEnabled": False,
        }
    if config.enable_app_insights is not None:
        payload["appInsightsEnabled"] = config.enable_app_insights
    autoscaler = _json_object(config, "autoScaler")
    if any(value is not None for value in autoscaler.values()):
        payload["autoScaler"] = autoscaler
    payload["containerResourceRequirements"] = _json_object(config, "containerResourceRequirements")
    payload["maxConcurrentRequestsPerContainer"] = config.replica_max_concurrent_requests
    payload["maxQueueWaitMs"] = config.max_request_wait_time
    payload["namespace"] = config.namespace
    payload["scoringTimeoutMs"] = config.scoring_timeout_ms
    if config.auth_enabled is not None:
        payload["authEnabled"] = config.auth_enabled
    if config.token_auth_enabled is not None:
        payload["aadAuthEnabled"] = config.token_auth_enabled
    blobfuse = getattr(config, "blobfuse_enabled", None)
    if blobfuse is not None:
        payload["storageInitEnabled"] = not blobfuse
    payload["livenessProbeRequirements"] = _json_object(config, "livenessProbeRequirements")
    return payload


def to_create_payload(
    config: AnyConfiguration | _DeploymentConfigurationBase,
    name: str,
    compute_name: str | None = None,
) -> dict[str, Any]:
    """The MMS create request (service or endpoint) for ``name``.

    ``computeName`` is ``compute_target_name`` if set, else ``compute_name`` (as
    ``Model.deploy`` did). Where v1 lost information aksml does not:
    ``dataCollection`` is sent whenever ``collect_model_data`` is set (also False), ``keys``
    whenever either key is set, ``autoScaler`` whenever any autoscale field is set, and endpoint
    versions carry ``computeType: "AKS"``. ``properties`` carries only the user's
    properties (no SDK tracking information).
    """
    if not isinstance(config, AksEndpointDeploymentConfiguration):
        return _service_payload(config, name, compute_name)
    version = config.version_name or name
    version_payload = _service_payload(config, version, compute_name)
    version_payload["trafficPercentile"] = config.traffic_percentile
    keys_given = config.primary_key is not None or config.secondary_key is not None
    payload: dict[str, Any] = {
        "name": name,
        "description": config.description,
        "kvTags": config.tags,
        "properties": config.properties,
        "keys": {
            "primaryKey": config.primary_key if keys_given else None,
            "secondaryKey": config.secondary_key if keys_given else None,
        },
        "computeType": "AKSENDPOINT",
        "computeName": _compute_name(config, compute_name),
    }
    if config.enable_app_insights is not None:
        payload["appInsightsEnabled"] = config.enable_app_insights
    if config.namespace is not None:
        payload["namespace"] = config.namespace
    if config.auth_enabled is not None:
        payload["authEnabled"] = config.auth_enabled
    if config.token_auth_enabled is not None:
        payload["aadAuthEnabled"] = config.token_auth_enabled
    payload["versions"] = {version: version_payload}
    return payload


# ---- import ------------------------------------------------------------------------------
class _Collector:
    """Collects parameter values from JSON keys, with their source keys and accumulated errors."""

    def __init__(self, valid: Mapping[str, object]) -> None:
        self.valid = valid
        self.values: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.errors = ""

    def put(self, parameter: str, value: Any, source: str) -> None:
        if value is None:
            return
        if parameter not in self.valid:
            self.errors += (
                f"{_INVALID}key {source!r} ({parameter}) does not apply to this computeType.\n"
            )
            return
        if parameter in self.values and self.values[parameter] != value:
            self.errors += (
                f"{_INVALID}{self.sources[parameter]!r} and {source!r} both set {parameter} "
                f"with different values ({self.values[parameter]!r} vs {value!r}).\n"
            )
            return
        self.values[parameter] = value
        self.sources[parameter] = source


def _collect(data: Mapping[str, Any], out: _Collector, prefix: str, skip: frozenset[str]) -> None:
    top_level_keys = [*_FLAT, *_NESTED, *out.valid, *(k for k in _IGNORED if k != "compute_type")]
    for key, value in data.items():
        where = f"{prefix}{key}"
        if not isinstance(key, str):
            out.errors += f"{_INVALID}keys must be strings, got {describe(key)}.\n"
        elif key in skip or key in _IGNORED:
            continue
        elif key in _NESTED:
            if value is None:
                continue
            if not isinstance(value, Mapping):
                out.errors += f"{_INVALID}{where!r} must be an object, got {describe(value)}.\n"
                continue
            inner = _NESTED[key]
            for sub, item in value.items():
                if sub not in inner:
                    out.errors += (
                        f"{_INVALID}unknown key {f'{where}.{sub}'!r}.{suggest(str(sub), inner)}\n"
                    )
                elif inner[sub] == "":
                    if item:  # eventHubEnabled
                        out.errors += (
                            f"{_INVALID}{f'{where}.{sub}'!r}: Event Hub data collection is not "
                            "supported; use dataCollection.storageEnabled.\n"
                        )
                else:
                    out.put(inner[sub], item, f"{where}.{sub}")
        elif key == "storageInitEnabled":
            if value is not None and not isinstance(value, bool):
                out.errors += f"{_INVALID}{where!r} must be true or false, got {describe(value)}.\n"
            elif value is not None:
                out.put("blobfuse_enabled", not value, where)
        elif key in _FLAT:
            out.put(_FLAT[key], value, where)
        elif key in SERVICE_PARAMETERS or key in ENDPOINT_PARAMETERS:
            out.put(key, value, where)
        else:
            out.errors += f"{_INVALID}unknown key {where!r}.{suggest(key, top_level_keys)}\n"


def from_aml_json(data: Mapping[str, Any]) -> AnyConfiguration:
    """A configuration from AML v1 JSON (see the module docstring for the accepted shapes).

    ``computeType`` is required (case-insensitive ``aks`` or ``aksendpoint``).
    """
    if not isinstance(data, Mapping):
        raise WebserviceException(
            f"{_INVALID}expected a JSON object at the top level, got {type(data).__name__}.\n"
        )
    compute_type = data.get("computeType", data.get("compute_type"))
    if compute_type is None:
        raise WebserviceException(
            f"{_INVALID}need to specify computeType ('aks' for an AksWebservice, 'aksendpoint' "
            "for an AksEndpoint).\n"
        )
    kind = str(compute_type).lower()
    if kind == "aks":
        out = _Collector(SERVICE_PARAMETERS)
        for key in _ENDPOINT_ONLY:
            if data.get(key) is not None:
                out.errors += f"{_INVALID}key {key!r} only applies to computeType 'aksendpoint'.\n"
        _collect(data, out, "", _ENDPOINT_ONLY)
        cls: type[AnyConfiguration] = AksServiceDeploymentConfiguration
    elif kind == "aksendpoint":
        out = _Collector(ENDPOINT_PARAMETERS)
        versions = data.get("versions")
        _collect(data, out, "", frozenset({"versions"}))
        if versions is not None:
            _collect_version(versions, out)
        cls = AksEndpointDeploymentConfiguration
    elif kind in ("aci", "local"):
        raise WebserviceException(
            f"{_INVALID}computeType {compute_type!r} is not supported: aksml deploys to "
            "Kubernetes ('aks' or 'aksendpoint').\n"
        )
    else:
        raise WebserviceException(
            f"{_INVALID}unknown computeType {compute_type!r}; expected 'aks' or 'aksendpoint'.\n"
        )
    if out.errors:
        raise WebserviceException(out.errors)
    return cls.model_validate(out.values, context={"sources": out.sources})


# endpoint-level keys: inside a version entry they repeat the endpoint's values and are ignored
_ENDPOINT_LEVEL: Final = frozenset(
    {
        "authEnabled",
        "aadAuthEnabled",
        "appInsightsEnabled",
        "description",
        "tags",
        "kvTags",
        "properties",
        "keys",
        "namespace",
        "computeName",
    }
)


def _collect_version(versions: Any, out: _Collector) -> None:
    if not isinstance(versions, Mapping) or len(versions) != 1:
        count = len(versions) if isinstance(versions, Mapping) else describe(versions)
        out.errors += (
            f"{_INVALID}'versions' must hold exactly one version for an "
            f"AksEndpointDeploymentConfiguration (got {count}); import an endpoint with several "
            "versions with aksml.v1.endpoint_versions_from_aml_json.\n"
        )
        return
    ((version, entry),) = versions.items()
    if not isinstance(entry, Mapping):
        out.errors += f"{_INVALID}'versions.{version}' must be an object, got {describe(entry)}.\n"
        return
    out.put("version_name", version, "versions")
    _collect(entry, out, f"versions.{version}.", _ENDPOINT_LEVEL)


def endpoint_versions_from_aml_json(
    data: Mapping[str, Any],
) -> tuple[
    AksEndpointDeploymentConfiguration,
    list[tuple[EndpointVersionSpec, AksServiceDeploymentConfiguration]],
]:
    """Split a v1 ``AksEndpoint`` JSON (GET or ``serialize()``) with any number of versions.

    Returns the endpoint-level settings (auth, keys, app insights, namespace, description, tags,
    properties, compute) as an ``AksEndpointDeploymentConfiguration`` without version fields, and
    per version its routing view (``EndpointVersionSpec`` from ``trafficPercentile``,
    ``isDefault`` and ``type``/``versionType`` ``Control``/``Treatment``) with its deploy
    settings as an ``AksServiceDeploymentConfiguration``. This is the migration path for
    endpoints built step by step with v1's ``create_version``.
    """
    if not isinstance(data, Mapping) or str(data.get("computeType", "")).lower() != "aksendpoint":
        raise WebserviceException(
            f"{_INVALID}expected an AksEndpoint JSON object with computeType 'AKSENDPOINT'.\n"
        )
    versions = data.get("versions")
    if not isinstance(versions, Mapping) or not versions:
        raise WebserviceException(f"{_INVALID}'versions' must be a non-empty object.\n")
    top = _Collector(ENDPOINT_PARAMETERS)
    _collect(data, top, "", frozenset({"versions"}))
    errors = top.errors
    parsed: list[tuple[str, Any, _Collector]] = []
    for name, entry in versions.items():
        if not isinstance(entry, Mapping):
            errors += f"{_INVALID}'versions.{name}' must be an object, got {describe(entry)}.\n"
            continue
        out = _Collector(SERVICE_PARAMETERS)
        skip = _ENDPOINT_LEVEL | {"trafficPercentile"}
        _collect(entry, out, f"versions.{name}.", frozenset(skip))
        errors += out.errors
        parsed.append((str(name), entry, out))
    if errors:
        raise WebserviceException(errors)
    endpoint = AksEndpointDeploymentConfiguration.model_validate(
        top.values, context={"sources": top.sources}
    )
    result: list[VersionConfiguration] = []
    for name, entry, out in parsed:
        kind = entry.get("type") or entry.get("versionType")
        spec = EndpointVersionSpec.model_validate(
            {
                "version_name": name,
                "traffic_percentile": entry.get("trafficPercentile"),
                "is_default": entry.get("isDefault") is True,
                "version_type": kind.lower() if isinstance(kind, str) else kind,
            }
        )
        config = AksServiceDeploymentConfiguration.model_validate(
            out.values, context={"sources": out.sources}
        )
        result.append((spec, config))
    return endpoint, result


def read_config_document(path: str | Path) -> Any:
    """Read and parse one configuration document (not yet validated).

    ``.json`` files are parsed as JSON; any other file as JSON when it is JSON, else as YAML.
    Any problem (unreadable file, bad syntax) raises ``WebserviceException`` with one
    ``Invalid configuration, ...`` message naming the file (and line and column).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise WebserviceException(f"{_INVALID}cannot read {file}: {reason}.\n") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if file.suffix.lower() == ".json":
            raise WebserviceException(
                f"{_INVALID}{file} is not valid JSON: {exc.msg} "
                f"(line {exc.lineno}, column {exc.colno}).\n"
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise WebserviceException(f"{_INVALID}{file} is not valid YAML: {problem}{at}.\n") from None


def load_config(path: str | Path) -> AnyConfiguration:
    """Load a configuration file: ``.json`` (AML v1 JSON) or ``.yaml``/``.yml`` (same keys).

    YAML files use the same camelCase keys as the JSON shapes and may also use the snake_case
    parameter names (``cpu_cores: 0.5``) at the top level. Any problem (unreadable file, bad
    syntax, unknown key, invalid value) raises ``WebserviceException``.
    """
    file = Path(path)
    if file.suffix.lower() not in (".json", ".yaml", ".yml"):
        raise WebserviceException(f"{_INVALID}{file} must be a .json, .yaml or .yml file.\n")
    return from_aml_json(read_config_document(file))
