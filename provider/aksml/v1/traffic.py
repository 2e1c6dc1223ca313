"""Endpoint versions and traffic: the pure model behind ``AksEndpoint`` (v1 controlled rollout).

Rules (v1 ``AksEndpoint`` / ``create_version`` / ``update_version`` in azureml-core 1.61's
``azureml/core/webservice/aks.py``, minus its bugs; see ``docs/endpoint.md``):

- Version names follow the service-name rule (3-32 chars, v1 message).
- The default version is the one marked ``is_default``; when none is marked, the **first**
  version is the default (v1: the first version became default server-side). Two or more
  marked defaults are an error (v1 silently unset the others on each call).
- Exactly one **control** version: the one marked ``version_type="control"``, else the default
  version. Two controls are an error.
- Each non-default version receives its ``traffic_percentile`` (None = 0); the default receives
  what the others leave, ``100 - sum(others)`` (its own ``traffic_percentile`` is not used).
  A percentile below 0 or above 100 gets v1's message; the others adding up to more than 100
  is an error.
- **0 %**: a version with 0 % (or the default when the others take 100 %) is still deployed and
  reachable through its own URI and by pinning (the ``azureml-model-deployment`` header); it just
  receives no share of the endpoint's split traffic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from aksml.errors import WebserviceException
from aksml.v1.names import SERVICE_NAME_MESSAGE, is_valid_service_name
from aksml.v1.params import describe, suggest
from aksml.v1.validation import TRAFFIC_MESSAGE

_INVALID = "Invalid configuration, "
_TOLERANCE = 1e-9


class EndpointVersionSpec(BaseModel):
    """One version of an endpoint, as far as routing is concerned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version_name: str
    """Version name: 3-32 chars, lowercase letters, digits and dashes (v1 service-name rule)."""
    traffic_percentile: float | None = None
    """Share of the endpoint's traffic in percent, 0-100 (ignored for the default version,
    which receives what the others leave). None = 0 for a non-default version."""
    is_default: bool = False
    """The default version (receives the remaining traffic). None marked: the first version."""
    version_type: Literal["control", "treatment"] | None = None
    """``control`` (exactly one per endpoint; the default version when none is marked) or
    ``treatment``."""

    @model_validator(mode="before")
    @classmethod
    def _validate(cls, data: Any) -> Any:
        """Type and range checks with v1 messages; raises ``WebserviceException``."""
        if not isinstance(data, Mapping):
            raise WebserviceException(
                f"{_INVALID}an endpoint version must be a mapping, got {describe(data)}.\n"
            )
        errors = ""
        for key in data:
            if key not in cls.model_fields:
                errors += (
                    f"{_INVALID}unknown endpoint version parameter {key!r}."
                    f"{suggest(str(key), cls.model_fields)}\n"
                )
        name = data.get("version_name")
        if name is None:
            errors += f"{_INVALID}version_name is required.\n"
        elif not is_valid_service_name(name):
            raise WebserviceException(SERVICE_NAME_MESSAGE)  # v1 raised it on its own
        traffic = data.get("traffic_percentile")
        if traffic is not None:
            if isinstance(traffic, bool) or not isinstance(traffic, int | float):
                errors += (
                    f"{_INVALID}traffic_percentile must be a number, got {describe(traffic)}.\n"
                )
            elif not math.isfinite(traffic):
                errors += f"{_INVALID}traffic_percentile must be a finite number, got {traffic}.\n"
            elif traffic < 0 or traffic > 100:
                errors += TRAFFIC_MESSAGE
        default = data.get("is_default", False)
        if not isinstance(default, bool):
            errors += f"{_INVALID}is_default must be true or false, got {describe(default)}.\n"
        kind = data.get("version_type")
        if kind is not None and kind not in ("control", "treatment"):
            errors += (
                f"{_INVALID}version_type must be 'control' or 'treatment', got {describe(kind)}.\n"
            )
        if errors:
            raise WebserviceException(errors)
        return data


def _as_specs(
    versions: Sequence[EndpointVersionSpec | Mapping[str, Any]],
) -> list[EndpointVersionSpec]:
    return [
        v if isinstance(v, EndpointVersionSpec) else EndpointVersionSpec.model_validate(v)
        for v in versions
    ]


def resolve_roles(
    versions: Sequence[EndpointVersionSpec | Mapping[str, Any]],
) -> tuple[str, str]:
    """``(default version, control version)`` after checking the version set (see module doc)."""
    specs = _as_specs(versions)
    errors = ""
    if not specs:
        raise WebserviceException(f"{_INVALID}an endpoint needs at least one version.\n")
    seen: set[str] = set()
    for spec in specs:
        if spec.version_name in seen:
            errors += f"{_INVALID}version name {spec.version_name!r} is used more than once.\n"
        seen.add(spec.version_name)
    defaults = [s.version_name for s in specs if s.is_default]
    if len(defaults) > 1:
        errors += (
            f"{_INVALID}more than one default version ({', '.join(defaults)}); exactly one "
            "version can be the default.\n"
        )
    controls = [s.version_name for s in specs if s.version_type == "control"]
    if len(controls) > 1:
        errors += (
            f"{_INVALID}more than one control version ({', '.join(controls)}); exactly one "
            "version can be the control, the others are treatments.\n"
        )
    if errors:
        raise WebserviceException(errors)
    default = defaults[0] if defaults else specs[0].version_name
    control = controls[0] if controls else default
    return default, control


def resolve_traffic(
    versions: Sequence[EndpointVersionSpec | Mapping[str, Any]],
) -> dict[str, float]:
    """Effective traffic share per version (in version order), summing to 100.

    Raises ``WebserviceException`` for an invalid version set (see the module docstring). The
    default version's own ``traffic_percentile`` is not used: it receives the remainder.
    """
    specs = _as_specs(versions)
    default, _ = resolve_roles(specs)
    others = [s for s in specs if s.version_name != default]
    total = math.fsum(s.traffic_percentile or 0.0 for s in others)
    if total > 100 + _TOLERANCE:
        raise WebserviceException(
            f"{_INVALID}the traffic_percentile of the non-default versions add up to "
            f"{total:g}, more than 100; the default version {default!r} receives what they "
            "leave.\n"
        )
    remainder = max(0.0, round(100.0 - total, 9))
    return {
        s.version_name: remainder
        if s.version_name == default
        else float(s.traffic_percentile or 0.0)
        for s in specs
    }
