"""The v1 deploy parameters: their value kinds and the beyond-v1 type checks.

Validation runs in three phases (see ``docs/configuration.md``):

1. **values v1 cannot evaluate** (this module, :func:`v1_evaluable`): a string for a number, a
   number for a string, ... is reported on its own -- azureml-core crashed with a bare
   ``TypeError`` on it.
2. **v1 checks** (``aksml.v1.config``): azureml-core 1.61's list, same order, same text, on the
   values as given (fractions, bools and numbers as v1 treated them).
3. **beyond v1**, only when phase 2 passed, so every input v1 rejected gets v1's message byte
   for byte: the exact types (:func:`check_value`: whole numbers, no ``True`` for ``1``, bools
   for flags), then values a cluster would reject (a limit <= 0, NaN/infinity, ...).
"""

from __future__ import annotations

import difflib
import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final


class Kind(enum.Enum):
    """The value kind of a deploy parameter."""

    BOOL = "true or false"
    INT = "a whole number"
    FLOAT = "a number"
    STR = "a string"
    STR_MAP = "a mapping of strings to strings"


class Scope(enum.Flag):
    """Where a parameter is set (a parameter may live in several places)."""

    SERVICE = enum.auto()
    """``AksWebservice.deploy_configuration`` / ``AksWebserviceArgs`` / ``AksWebservice.update``."""
    ENDPOINT = enum.auto()
    """An endpoint-level setting: ``AksEndpointArgs`` / ``AksEndpoint.update``."""
    VERSION = enum.auto()
    """A version's setting: ``create_version`` / ``update_version`` /
    ``AksEndpointVersionArgs``."""
    ROUTING = enum.auto()
    """A version's routing view (``EndpointVersionSpec``): ``AksEndpointVersionArgs`` and
    ``AksEndpoint.deploy_configuration`` (for its first version)."""


_NONE = Scope(0)


@dataclass(frozen=True)
class Parameter:
    """One deploy parameter: the one place its name, type, default, AML JSON key, ``update()``
    rules, scope and beyond-v1 limits are declared. Everything else derives from
    :data:`PARAMETERS`."""

    name: str
    """The v1 parameter name (also the component argument name)."""
    kind: Kind
    """Its value type (phase-1 type check)."""
    default: float | int | bool | None
    """The documented default ``resolve()`` applies (None: no single value; see ``resolve``)."""
    json: str
    """AML v1 JSON key: ``key`` at top level or ``object.key`` (serialize / GET / create)."""
    scope: Scope
    """Where it can be set."""
    update: Scope = _NONE
    """Which ``update()`` calls accept it (``SERVICE``: ``AksWebservice.update`` and
    ``update_version``; ``ENDPOINT``: ``AksEndpoint.update``; ``ROUTING``:
    ``AksEndpointDeploymentConfiguration.update``)."""
    update_given_when_not_none: bool = False
    """v1 ``update()`` counts this argument as given when it is not None (True) or when it is
    truthy (False: ``update(gpu_cores=0)`` is "No parameters provided to update.")."""
    json_aliases: tuple[str, ...] = ()
    """Other top-level AML JSON keys read on import (``az ml --dc`` files, create payloads)."""
    beyond_v1_scope: Scope = _NONE
    """Scopes where aksml accepts it but v1 did not (e.g. ``blobfuse_enabled`` per version)."""
    maximum: int | None = None
    """Beyond-v1 upper bound (a limit the runtime enforces); checked in phase 3."""
    maximum_reason: str = ""
    """Why the maximum exists, for the error message."""
    doc: str = ""
    """The component argument's description (``AksWebserviceArgs``; the provider schema's)."""
    version_doc: str = ""
    """Its description on ``AksEndpointVersionArgs`` when it differs from :attr:`doc`."""
    endpoint_doc: str = ""
    """Its description on ``AksEndpointArgs`` when it differs from :attr:`doc`."""
    json_after: str = ""
    """In its AML JSON object, this key is written right after that parameter's key (v1 wrote
    each limit after its request: ``cpu``, ``cpuLimit``, ``memoryInGB``, ...); empty: in table
    order. The order is part of ``serialize()``'s output, which Pulumi state keeps."""


_S, _E, _V, _R = Scope.SERVICE, Scope.ENDPOINT, Scope.VERSION, Scope.ROUTING

PARAMETERS: Final[tuple[Parameter, ...]] = (
    Parameter(
        "autoscale_enabled",
        Kind.BOOL,
        None,
        "autoScaler.autoscaleEnabled",
        _S | _V,
        _S,
        True,
        doc="Autoscale (default True when num_replicas is unset).",
    ),
    Parameter(
        "autoscale_min_replicas",
        Kind.INT,
        1,
        "autoScaler.minReplicas",
        _S | _V,
        _S,
        doc="Minimum replicas when autoscaling (default 1).",
    ),
    Parameter(
        "autoscale_max_replicas",
        Kind.INT,
        10,
        "autoScaler.maxReplicas",
        _S | _V,
        _S,
        doc="Maximum replicas when autoscaling (default 10).",
    ),
    Parameter(
        "autoscale_refresh_seconds",
        Kind.INT,
        1,
        "autoScaler.refreshPeriodInSeconds",
        _S | _V,
        _S,
        doc="Autoscaler polling interval in seconds (default 1; KEDA pollingInterval).",
    ),
    Parameter(
        "autoscale_target_utilization",
        Kind.INT,
        70,
        "autoScaler.targetUtilization",
        _S | _V,
        _S,
        doc="Target utilisation percent (default 70).",
    ),
    Parameter(
        "collect_model_data",
        Kind.BOOL,
        False,
        "dataCollection.storageEnabled",
        _S | _V,
        _S,
        True,
        doc="Collect model inputs and predictions (default False).",
    ),
    Parameter(
        "auth_enabled",
        Kind.BOOL,
        None,
        "authEnabled",
        _S | _E,
        _S | _E,
        True,
        doc="Key auth (default True).",
        endpoint_doc="Key auth (default True), for every version.",
    ),
    Parameter(
        "cpu_cores",
        Kind.FLOAT,
        0.1,
        "containerResourceRequirements.cpu",
        _S | _V,
        _S,
        doc="CPU request in cores (default 0.1).",
    ),
    Parameter(
        "memory_gb",
        Kind.FLOAT,
        0.5,
        "containerResourceRequirements.memoryInGB",
        _S | _V,
        _S,
        doc="Memory request in GiB (default 0.5 = 512Mi).",
    ),
    Parameter(
        "enable_app_insights",
        Kind.BOOL,
        False,
        "appInsightsEnabled",
        _S | _E,
        _S | _E,
        True,
        doc=(
            "Application Insights telemetry (default False); needs app_insights_connection_string."
        ),
    ),
    Parameter(
        "scoring_timeout_ms",
        Kind.INT,
        60000,
        "scoringTimeoutMs",
        _S | _V,
        _S,
        doc="Scoring timeout in ms (default 60000).",
    ),
    Parameter(
        "replica_max_concurrent_requests",
        Kind.INT,
        1,
        "maxConcurrentRequestsPerContainer",
        _S | _V,
        _S,
        maximum=1024,
        maximum_reason="the runtime's limit per replica",
        doc="Concurrent run() calls per replica (default 1).",
    ),
    Parameter(
        "max_request_wait_time",
        Kind.INT,
        500,
        "maxQueueWaitMs",
        _S | _V,
        _S,
        doc="Queue wait in ms before a 503 (default 500).",
    ),
    Parameter(
        "num_replicas",
        Kind.INT,
        None,
        "numReplicas",
        _S | _V,
        _S,
        doc=(
            "Fixed replica count (disables autoscaling). Default: unset, which "
            "turns autoscaling on."
        ),
    ),
    Parameter(
        "primary_key",
        Kind.STR,
        None,
        "keys.primaryKey",
        _S | _E,
        doc="Primary auth key (default: generated with pulumi_random, stable across updates).",
        endpoint_doc="Primary key shared by every version (default: generated).",
    ),
    Parameter(
        "secondary_key",
        Kind.STR,
        None,
        "keys.secondaryKey",
        _S | _E,
        doc="Secondary auth key (default: generated).",
        endpoint_doc="Secondary key shared by every version (default: generated).",
    ),
    Parameter(
        "tags",
        Kind.STR_MAP,
        None,
        "tags",
        _S | _E | _V,
        _S | _E,
        True,
        json_aliases=("kvTags",),
        doc="Tags (annotation aksml.io/tags; label-safe ones also as labels). Default: none.",
        version_doc="Version tags, merged over the endpoint's.",
        endpoint_doc="Endpoint tags (every version inherits them).",
    ),
    Parameter(
        "properties",
        Kind.STR_MAP,
        None,
        "properties",
        _S | _E | _V,
        _S | _E,
        True,
        doc="Properties (annotation aksml.io/properties); add-only on update. Default: none.",
        version_doc="Version properties, merged over the endpoint's.",
        endpoint_doc="Endpoint properties (every version inherits them).",
    ),
    Parameter(
        "description",
        Kind.STR,
        None,
        "description",
        _S | _E | _V,
        _S | _E,
        doc="Description (annotation aksml.io/description). Default: none.",
        version_doc="Version description (default: the endpoint's).",
        endpoint_doc="Endpoint description.",
    ),
    Parameter(
        "gpu_cores",
        Kind.INT,
        0,
        "containerResourceRequirements.gpu",
        _S | _V,
        _S,
        json_aliases=("gpuCores",),
        doc="GPUs per replica (nvidia.com/gpu; default 0).",
    ),
    Parameter(
        "period_seconds",
        Kind.INT,
        10,
        "livenessProbeRequirements.periodSeconds",
        _S | _V,
        _S,
        doc="Liveness probe period (default 10).",
    ),
    Parameter(
        "initial_delay_seconds",
        Kind.INT,
        310,
        "livenessProbeRequirements.initialDelaySeconds",
        _S | _V,
        _S,
        doc="Liveness probe initial delay (default 310).",
    ),
    Parameter(
        "timeout_seconds",
        Kind.INT,
        2,
        "livenessProbeRequirements.timeoutSeconds",
        _S | _V,
        _S,
        doc="Liveness probe timeout (default 2).",
    ),
    Parameter(
        "success_threshold",
        Kind.INT,
        1,
        "livenessProbeRequirements.successThreshold",
        _S | _V,
        _S,
        doc=(
            "Consecutive successes before a replica counts as ready (default 1). v1"
            " named it a liveness setting; it is set on the readiness probe because"
            " Kubernetes accepts only 1 on a liveness probe."
        ),
    ),
    Parameter(
        "failure_threshold",
        Kind.INT,
        3,
        "livenessProbeRequirements.failureThreshold",
        _S | _V,
        _S,
        doc="Liveness probe failure threshold (default 3).",
    ),
    Parameter(
        "namespace",
        Kind.STR,
        None,
        "namespace",
        _S | _E,
        _S,
        doc="Kubernetes namespace (default: default).",
    ),
    Parameter(
        "token_auth_enabled",
        Kind.BOOL,
        False,
        "tokenAuthEnabled",
        _S | _E,
        _S | _E,
        True,
        json_aliases=("aadAuthEnabled",),
        doc="Token (JWT) auth (default False).",
        endpoint_doc="Token (JWT) auth (default False), for every version.",
    ),
    Parameter(
        "version_name",
        Kind.STR,
        None,
        "versionName",
        _R,
        doc=(
            "Version name (3-32 chars, lowercase letters, digits, dashes); objects "
            "are named <endpoint>-<version>."
        ),
    ),
    Parameter(
        "traffic_percentile",
        Kind.FLOAT,
        None,
        "trafficPercentile",
        _R,
        _R,
        True,
        doc=(
            "Share of the endpoint's traffic in percent (0-100). The default "
            "version receives what the others leave; 0 = deployed and reachable by "
            "its own URI and by pinning, no split traffic."
        ),
    ),
    Parameter(
        "compute_target_name",
        Kind.STR,
        None,
        "computeTargetName",
        _S | _E,
        json_aliases=("computeName",),
        doc="Compute target name (annotation aksml.io/compute-target). Default: none.",
    ),
    Parameter(
        "cpu_cores_limit",
        Kind.FLOAT,
        None,
        "containerResourceRequirements.cpuLimit",
        _S | _V,
        _S,
        True,
        json_after="cpu_cores",
        doc="CPU limit in cores (default: none).",
    ),
    Parameter(
        "memory_gb_limit",
        Kind.FLOAT,
        None,
        "containerResourceRequirements.memoryInGBLimit",
        _S | _V,
        _S,
        True,
        json_after="memory_gb",
        doc="Memory limit in GiB (default: none).",
    ),
    Parameter(
        "blobfuse_enabled",
        Kind.BOOL,
        True,
        "storageInitEnabled",
        _S | _V,
        beyond_v1_scope=_V,
        doc="Mount blob-sourced models with the Azure Blob CSI driver (default True).",
    ),
)
"""Every deploy parameter, in azureml-core 1.61's ``deploy_configuration`` order (the endpoint's
``version_name`` / ``traffic_percentile`` where ``AksEndpoint.deploy_configuration`` has them).
``blobfuse_enabled``'s JSON key ``storageInitEnabled`` holds its negation."""

BY_NAME: Final[dict[str, Parameter]] = {p.name: p for p in PARAMETERS}
""":data:`PARAMETERS` by name."""


def default(name: str) -> Any:
    """The documented default of parameter ``name`` (``resolve()`` applies it)."""
    return BY_NAME[name].default


def maximum(name: str) -> int:
    """The beyond-v1 upper bound of parameter ``name`` (``LookupError`` when it has none)."""
    most = BY_NAME[name].maximum
    if most is None:
        raise LookupError(f"parameter {name!r} has no maximum")
    return most


def _names(where: Scope, *, column: str = "scope", v1_only: bool = False) -> tuple[str, ...]:
    out = []
    for p in PARAMETERS:
        scopes: Scope = getattr(p, column)
        if v1_only:
            scopes &= ~p.beyond_v1_scope
        if scopes & where:
            out.append(p.name)
    return tuple(out)


SERVICE_PARAMETERS: Final[dict[str, Kind]] = {n: BY_NAME[n].kind for n in _names(_S)}
"""``AksWebservice.deploy_configuration`` parameters, in azureml-core 1.61's order."""

ENDPOINT_PARAMETERS: Final[dict[str, Kind]] = {
    n: BY_NAME[n].kind for n in _names(_E | _V | _R, v1_only=True)
}
"""``AksEndpoint.deploy_configuration`` parameters, in azureml-core 1.61's order."""

UPDATE_PARAMETERS: Final[tuple[str, ...]] = _names(_S, column="update")
"""``AksWebservice.update()`` parameters (v1 order) minus image/models/inference_config."""

ENDPOINT_CONFIG_UPDATE_PARAMETERS: Final[tuple[str, ...]] = (
    *UPDATE_PARAMETERS,
    *_names(_R, column="update"),
)
"""``AksEndpointDeploymentConfiguration.update()`` parameters."""

UPDATE_GIVEN_WHEN_NOT_NONE: Final[frozenset[str]] = frozenset(
    p.name for p in PARAMETERS if p.update_given_when_not_none
)
"""update() arguments v1 tested with ``is None`` (the others count when truthy)."""

VERSION_PARAMETERS: Final[tuple[str, ...]] = _names(_V, v1_only=True)
"""v1 ``create_version`` / ``update_version`` deploy parameters (v1 order), minus ``models``
and ``inference_config`` (pass what runs as ``workload=`` arguments, e.g. image, entry_script)."""

VERSION_SETTINGS: Final[tuple[str, ...]] = _names(_V)
"""What a version may set: :data:`VERSION_PARAMETERS` plus aksml's per-version additions."""

ENDPOINT_SETTINGS: Final[tuple[str, ...]] = _names(_E)
"""Endpoint-level parameters (shared by every version; not ``create_version`` parameters)."""

ENDPOINT_UPDATE_PARAMETERS: Final[tuple[str, ...]] = _names(_E, column="update")
"""v1 ``AksEndpoint.update`` parameters."""

ROUTING_PARAMETERS: Final[tuple[str, ...]] = _names(_R)
"""A version's routing parameters that are v1 deploy parameters."""

JSON_FLAT: Final[dict[str, str]] = {
    **{p.json: p.name for p in PARAMETERS if "." not in p.json},
    **{alias: p.name for p in PARAMETERS for alias in p.json_aliases},
}
"""Top-level AML JSON key -> parameter (``storageInitEnabled`` is read negated, apart)."""


def _json_nested() -> dict[str, dict[str, str]]:
    order: dict[str, list[Parameter]] = {}
    for p in PARAMETERS:
        if "." in p.json:
            group = order.setdefault(p.json.split(".", 1)[0], [])
            at = [q.name for q in group].index(p.json_after) + 1 if p.json_after else len(group)
            group.insert(at, p)
    return {group: {p.json.split(".", 1)[1]: p.name for p in rows} for group, rows in order.items()}


JSON_NESTED: Final[dict[str, dict[str, str]]] = _json_nested()
"""AML JSON object key -> {inner key -> parameter}, in the order ``serialize()`` writes them
(table order, each :attr:`Parameter.json_after` key moved after its parameter's)."""


def describe(value: object) -> str:
    """``'abc' (str)``: a value and its type, for error messages (long values are shortened)."""
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def suggest(key: str, valid: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest valid name, or an empty string."""
    by_lower: dict[str, str] = {}
    for name in valid:
        by_lower.setdefault(name.lower(), name)
    close = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" Did you mean {by_lower[close[0]]!r}?" if close else ""


def unknown_key_message(key: str, valid: Iterable[str], where: str) -> str:
    """The message for an unexpected key/parameter, naming it and the closest valid one."""
    return f"Invalid configuration, unknown {where} {key!r}.{suggest(key, valid)}\n"


def v1_evaluable(kind: Kind, value: Any) -> bool:
    """Whether azureml-core could run its checks on ``value``: numbers and bools for the
    numeric and boolean parameters (v1 compared them and tested their truth, ``True`` acting
    as 1), strings for strings, mappings for mappings. Phase 1 reports only values that are
    not; the stricter type rules of :func:`check_value` wait until v1's checks passed."""
    if kind in (Kind.BOOL, Kind.INT, Kind.FLOAT):
        return isinstance(value, int | float)
    if kind is Kind.STR:
        return isinstance(value, str)
    return isinstance(value, Mapping)


def check_value(name: str, kind: Kind, value: Any, source: str = "") -> tuple[Any, str]:
    """Phase 1 for one value: return ``(normalised value, "")`` or ``(value, message)``.

    ``source`` (e.g. `` (JSON key 'containerResourceRequirements.cpu')``) is appended to the
    message so file users see the key they wrote. Integral floats (``3.0``) are accepted for
    whole-number parameters and become ``int``.
    """
    bad = f"Invalid configuration, {name} must be {kind.value}, got {describe(value)}{source}.\n"
    if kind is Kind.BOOL:
        return (value, "") if isinstance(value, bool) else (value, bad)
    if kind is Kind.INT:
        if isinstance(value, bool):
            return value, bad
        if isinstance(value, int):
            return value, ""
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value), ""
        return value, bad
    if kind is Kind.FLOAT:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value, bad
        return value, ""
    if kind is Kind.STR:
        return (value, "") if isinstance(value, str) else (value, bad)
    # STR_MAP
    if not isinstance(value, Mapping):
        return value, bad
    for key, item in value.items():
        if not isinstance(key, str):
            return value, (
                f"Invalid configuration, {name} keys must be strings, "
                f"got {describe(key)}{source}.\n"
            )
        if not isinstance(item, str):
            return value, (
                f"Invalid configuration, {name} values must be strings, "
                f"{name}[{key!r}] is {describe(item)}{source}.\n"
            )
    return dict(value), ""
