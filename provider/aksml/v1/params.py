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
from typing import Any, Final


class Kind(enum.Enum):
    """The value kind of a deploy parameter."""

    BOOL = "true or false"
    INT = "a whole number"
    FLOAT = "a number"
    STR = "a string"
    STR_MAP = "a mapping of strings to strings"


SERVICE_PARAMETERS: Final[dict[str, Kind]] = {
    "autoscale_enabled": Kind.BOOL,
    "autoscale_min_replicas": Kind.INT,
    "autoscale_max_replicas": Kind.INT,
    "autoscale_refresh_seconds": Kind.INT,
    "autoscale_target_utilization": Kind.INT,
    "collect_model_data": Kind.BOOL,
    "auth_enabled": Kind.BOOL,
    "cpu_cores": Kind.FLOAT,
    "memory_gb": Kind.FLOAT,
    "enable_app_insights": Kind.BOOL,
    "scoring_timeout_ms": Kind.INT,
    "replica_max_concurrent_requests": Kind.INT,
    "max_request_wait_time": Kind.INT,
    "num_replicas": Kind.INT,
    "primary_key": Kind.STR,
    "secondary_key": Kind.STR,
    "tags": Kind.STR_MAP,
    "properties": Kind.STR_MAP,
    "description": Kind.STR,
    "gpu_cores": Kind.INT,
    "period_seconds": Kind.INT,
    "initial_delay_seconds": Kind.INT,
    "timeout_seconds": Kind.INT,
    "success_threshold": Kind.INT,
    "failure_threshold": Kind.INT,
    "namespace": Kind.STR,
    "token_auth_enabled": Kind.BOOL,
    "compute_target_name": Kind.STR,
    "cpu_cores_limit": Kind.FLOAT,
    "memory_gb_limit": Kind.FLOAT,
    "blobfuse_enabled": Kind.BOOL,
}
"""``AksWebservice.deploy_configuration`` parameters, in azureml-core 1.61's order."""

_SERVICE_ORDER: Final = list(SERVICE_PARAMETERS)
_ENDPOINT_ORDER: Final = (
    *_SERVICE_ORDER[: _SERVICE_ORDER.index("compute_target_name")],
    "version_name",
    "traffic_percentile",
    "compute_target_name",
    "cpu_cores_limit",
    "memory_gb_limit",
)

ENDPOINT_PARAMETERS: Final[dict[str, Kind]] = {
    name: (
        Kind.STR
        if name == "version_name"
        else Kind.FLOAT
        if name == "traffic_percentile"
        else SERVICE_PARAMETERS[name]
    )
    for name in _ENDPOINT_ORDER
}
"""``AksEndpoint.deploy_configuration`` parameters, in azureml-core 1.61's order."""


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
