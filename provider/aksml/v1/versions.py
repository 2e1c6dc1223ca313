"""v1's imperative ``AksEndpoint`` calls as pure operations on a configuration.

``EndpointConfiguration`` holds an endpoint's settings and its versions as plain argument
dicts (the shape of ``AksEndpointArgs``). ``create_version`` / ``update_version`` /
``delete_version`` / ``update`` return a **new** configuration, so a v1 script that built an
endpoint step by step ports line by line, and the result feeds ``aksml.AksEndpoint`` through
:meth:`EndpointConfiguration.to_args`.

Validation is v1's, with azureml-core 1.61's bugs fixed rather than copied (``docs/endpoint.md``):

- ``update()`` works (v1 always raised ``TypeError``);
- ``create_version(cpu_cores=...)`` and the other resource parameters work (v1 raised
  ``AttributeError``);
- ``update_version`` validates like ``create_version`` (v1 accepted ``traffic_percentile=150``),
  refuses an unknown version, merges ``properties`` add-only (v1 ignored them) and replaces
  ``tags``; ``is_default=False`` / ``is_control_version_type=False`` clear the flag on that
  version (v1 sent an empty patch);
- ``delete_version`` refuses an unknown version and the last one.

Every result is checked as a whole (:func:`aksml.v1.resolve_traffic`): one default, one
control, the non-default shares adding up to at most 100.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aksml.errors import WebserviceException
from aksml.v1.config import (
    AksEndpointDeploymentConfiguration,
    AksServiceDeploymentConfiguration,
    deploy_configuration,
)
from aksml.v1.names import validate_service_name
from aksml.v1.params import ENDPOINT_SETTINGS, ENDPOINT_UPDATE_PARAMETERS, VERSION_PARAMETERS
from aksml.v1.traffic import resolve_traffic
from aksml.v1.validation import TRAFFIC_MESSAGE

_ROUTING = ("version_name", "traffic_percentile", "is_default", "version_type")


def _traffic_messages(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"Invalid configuration, traffic_percentile must be a number, got {value!r}.\n"
    if value < 0 or value > 100:
        return TRAFFIC_MESSAGE
    return ""


def _v1_part(version: Mapping[str, Any]) -> dict[str, Any]:
    return {k: version[k] for k in VERSION_PARAMETERS if version.get(k) is not None}


@dataclass(frozen=True)
class EndpointConfiguration:
    """An endpoint's settings and versions, as ``AksEndpointArgs``-shaped plain values."""

    settings: Mapping[str, Any] = field(default_factory=dict)
    """Endpoint-level arguments (auth, keys, namespace, exposure, gateway, ...)."""
    versions: tuple[Mapping[str, Any], ...] = ()
    """Version arguments (``AksEndpointVersionArgs``), in order."""

    @classmethod
    def from_deploy_configuration(
        cls,
        endpoint_name: str,
        config: AksEndpointDeploymentConfiguration,
        **settings: Any,
    ) -> EndpointConfiguration:
        """v1 ``Model.deploy(..., deployment_config=AksEndpoint.deploy_configuration(...))``:
        the endpoint with its first version (named ``version_name``, default: the endpoint's
        name), which is the default. ``settings`` adds endpoint-level arguments (exposure...)
        and the first version's workload arguments go in ``settings["first_version"]``."""
        given = config.given()
        workload = dict(settings.pop("first_version", {}) or {})
        endpoint = {k: v for k, v in given.items() if k in ENDPOINT_SETTINGS}
        first: dict[str, Any] = {
            k: v
            for k, v in given.items()
            if k in VERSION_PARAMETERS and k not in ("description", "tags", "properties")
        }
        first["version_name"] = config.version_name or endpoint_name
        if config.traffic_percentile is not None:
            first["traffic_percentile"] = config.traffic_percentile
        first["is_default"] = True
        first.update(workload)
        out = cls({**endpoint, **settings}, (first,))
        out.check()
        return out

    # ---- queries ------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Version names, in order."""
        return [str(v["version_name"]) for v in self.versions]

    def version(self, version_name: str) -> Mapping[str, Any]:
        """One version's arguments (``WebserviceException`` when there is no such version)."""
        for entry in self.versions:
            if entry["version_name"] == version_name:
                return entry
        raise WebserviceException(
            f"Error, endpoint has no version {version_name!r} (versions: "
            f"{', '.join(self.names()) or 'none'})."
        )

    def traffic(self) -> dict[str, float]:
        """Resolved traffic share per version (sums to 100)."""
        return resolve_traffic([{k: v[k] for k in _ROUTING if k in v} for v in self.versions])

    def check(self) -> None:
        """Raise ``WebserviceException`` unless the version set is routable."""
        self.traffic()

    def to_args(self) -> dict[str, Any]:
        """``AksEndpointArgs`` for ``aksml.AksEndpoint(name, config.to_args())``."""
        return {**self.settings, "versions": [dict(v) for v in self.versions]}

    # ---- v1 calls -----------------------------------------------------------------------
    def create_version(
        self,
        version_name: str | None,
        *,
        traffic_percentile: float | None = None,
        is_default: bool | None = None,
        is_control_version_type: bool | None = None,
        workload: Mapping[str, Any] | None = None,
        **parameters: Any,
    ) -> EndpointConfiguration:
        """v1 ``AksEndpoint.create_version``: a new configuration with the version added.

        ``parameters`` are the v1 deploy parameters (:data:`VERSION_PARAMETERS`), validated
        like ``deploy_configuration``; ``workload`` holds what runs (image, entry_script,
        models...). ``is_default`` / ``is_control_version_type`` move the flag from the other
        versions to this one.
        """
        if version_name is None:
            raise WebserviceException("No name is provided to create a version in an Endpoint")
        validate_service_name(version_name)
        if version_name in self.names():
            raise WebserviceException(
                f"Error, version {version_name!r} already exists; use update_version."
            )
        errors = _traffic_messages(traffic_percentile)
        unknown = sorted(set(parameters) - set(VERSION_PARAMETERS))
        if unknown:
            errors += f"Error, unknown create_version parameter(s): {', '.join(unknown)}.\n"
        if errors:
            raise WebserviceException(errors)
        v1 = deploy_configuration(**{k: v for k, v in parameters.items() if v is not None})
        entry: dict[str, Any] = {"version_name": version_name, **v1.given(), **dict(workload or {})}
        if traffic_percentile is not None:
            entry["traffic_percentile"] = traffic_percentile
        others = [dict(v) for v in self.versions]
        if is_default:
            entry["is_default"] = True
            for other in others:
                other.pop("is_default", None)
        if is_control_version_type:
            entry["version_type"] = "control"
            for other in others:
                other["version_type"] = "treatment"
        else:
            entry["version_type"] = "treatment" if self.versions else "control"
        out = replace(self, versions=(*others, entry))
        out.check()
        return out

    def update_version(
        self,
        version_name: str | None,
        *,
        traffic_percentile: float | None = None,
        is_default: bool | None = None,
        is_control_version_type: bool | None = None,
        workload: Mapping[str, Any] | None = None,
        **parameters: Any,
    ) -> EndpointConfiguration:
        """v1 ``AksEndpoint.update_version``, validated (v1 was not): a new
        configuration with the version changed. ``tags`` replaces, ``properties`` adds keys
        (an existing key cannot change), v1's update rules apply to the deploy parameters."""
        if version_name is None:
            raise WebserviceException("No name is provided to update a version.")
        current = dict(self.version(version_name))
        errors = _traffic_messages(traffic_percentile)
        unknown = sorted(set(parameters) - set(VERSION_PARAMETERS))
        if unknown:
            errors += f"Error, unknown update_version parameter(s): {', '.join(unknown)}.\n"
        if errors:
            raise WebserviceException(errors)
        changes = {k: v for k, v in parameters.items() if v is not None}
        if (
            not changes
            and traffic_percentile is None
            and is_default is None
            and is_control_version_type is None
            and not workload
        ):
            raise WebserviceException("No parameters provided to update a version.")
        updated = dict(current)
        if changes:
            base: AksServiceDeploymentConfiguration = deploy_configuration(**_v1_part(current))
            new_v1 = base.update(**changes).given()
            for key in VERSION_PARAMETERS:
                updated.pop(key, None)
            updated.update(new_v1)
        if workload:
            updated.update(workload)
        if traffic_percentile is not None:
            updated["traffic_percentile"] = traffic_percentile
        versions = [dict(v) for v in self.versions]
        if is_default:
            for other in versions:
                other.pop("is_default", None)
            updated["is_default"] = True
        elif is_default is False:
            updated.pop("is_default", None)
        if is_control_version_type:
            for other in versions:
                other["version_type"] = "treatment"
            updated["version_type"] = "control"
        elif is_control_version_type is False:
            updated["version_type"] = "treatment"
        out = replace(
            self,
            versions=tuple(updated if v["version_name"] == version_name else v for v in versions),
        )
        out.check()
        return out

    def delete_version(self, version_name: str | None) -> EndpointConfiguration:
        """v1 ``AksEndpoint.delete_version``, guarded: unknown or last version refused.
        Deleting the default makes the first remaining version the default."""
        if version_name is None:
            raise WebserviceException("No name is provided to delete a version in an Endpoint")
        self.version(version_name)
        if len(self.versions) == 1:
            raise WebserviceException(
                f"Error, {version_name!r} is the endpoint's only version; delete the endpoint "
                "instead."
            )
        remaining = tuple(v for v in self.versions if v["version_name"] != version_name)
        out = replace(self, versions=remaining)
        out.check()
        return out

    def update(self, **kwargs: Any) -> EndpointConfiguration:
        """v1 ``AksEndpoint.update`` (v1 always raised ``TypeError``): endpoint-level
        ``auth_enabled``, ``token_auth_enabled``, ``enable_app_insights``, ``description``,
        ``tags`` (replaces) and ``properties`` (adds keys)."""
        unknown = sorted(set(kwargs) - set(ENDPOINT_UPDATE_PARAMETERS))
        if unknown:
            raise WebserviceException(
                f"Error, unknown AksEndpoint.update parameter(s): {', '.join(unknown)}."
            )
        changes = {k: v for k, v in kwargs.items() if v is not None}
        if not changes:
            raise WebserviceException("No parameters provided to update.")
        if changes.get("auth_enabled") and changes.get("token_auth_enabled"):
            raise WebserviceException(
                "Error, cannot enable both key auth and token auth: choose one."
            )
        settings = dict(self.settings)
        properties = dict(settings.get("properties") or {})
        for key, value in (changes.pop("properties", None) or {}).items():
            if key in properties and properties[key] != value:
                raise WebserviceException(
                    f"Error, property {key!r} already has the value {properties[key]!r}; "
                    "properties cannot be changed, only new keys can be added."
                )
            properties[key] = value
        if properties:
            settings["properties"] = properties
        settings.update(changes)
        if changes.get("auth_enabled"):
            settings["token_auth_enabled"] = False
        if changes.get("token_auth_enabled"):
            settings["auth_enabled"] = False
        return replace(self, settings=settings)
