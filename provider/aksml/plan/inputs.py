"""From component arguments (plain values, snake_case, as in ``AksWebserviceArgs``) to the
validated v1 configuration and the workload settings. No Pulumi here: the component replaces
Output values by placeholders before calling :func:`settings_from_args`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from aksml.errors import WebserviceException
from aksml.plan.code import load_code
from aksml.plan.settings import (
    AutoscalerKind,
    EnvironmentSpec,
    Exposure,
    ModelSource,
    RuntimeMode,
    WorkloadSettings,
)
from aksml.v1 import AksServiceDeploymentConfiguration, deploy_configuration
from aksml.v1.params import SERVICE_PARAMETERS

V1_PARAMETERS: tuple[str, ...] = tuple(SERVICE_PARAMETERS)
"""Every ``deploy_configuration`` keyword (v1 order)."""

ARGS_ONLY: frozenset[str] = frozenset({"source_directory", "code_in_image", "skip_await"})
"""Workload arguments that are not ``WorkloadSettings`` fields (read here or by the component)."""

WORKLOAD_ARGS: tuple[str, ...] = (
    *(name for name in WorkloadSettings.model_fields if name != "code"),
    *sorted(ARGS_ONLY),
)
"""Arguments beyond the v1 configuration: every ``WorkloadSettings`` field (``code`` is built
from ``entry_script``/``source_directory``) plus :data:`ARGS_ONLY`."""

COMPONENT_ONLY_ARGS: frozenset[str] = frozenset({"deployment_config", "entry_script", *ARGS_ONLY})
"""Arguments the component consumes itself (not WorkloadSettings fields)."""

E = TypeVar("E", bound=Enum)


def enum_value(field: str, value: Any, enum: type[E]) -> E:
    """``value`` as a member of ``enum``, or a WebserviceException naming the allowed values."""
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise WebserviceException(
            f"Error, unknown {field} {value!r}; allowed values: {allowed}."
        ) from None


def configuration_from(value: Any) -> AksServiceDeploymentConfiguration:
    """An AksServiceDeploymentConfiguration from itself, its AML JSON text or a JSON object."""
    if isinstance(value, AksServiceDeploymentConfiguration):
        return value
    data = value
    if isinstance(value, str):
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise WebserviceException(
                f"Invalid configuration, deployment_config is not valid JSON: {exc.msg}.\n"
            ) from None
    if not isinstance(data, Mapping):
        raise WebserviceException(
            "Invalid configuration, deployment_config must be an "
            "AksServiceDeploymentConfiguration or its JSON, got "
            f"{type(value).__name__}.\n"
        )
    if "computeType" not in data and "compute_type" not in data:
        data = {"computeType": "AKS", **data}
    return AksServiceDeploymentConfiguration.from_aml_json(data)


def v1_configuration(args: Mapping[str, Any]) -> AksServiceDeploymentConfiguration:
    """The v1 configuration: ``deployment_config`` overlaid with the v1 fields of ``args``,
    validated by ``deploy_configuration`` (so invalid input raises v1's message)."""
    base: dict[str, Any] = {}
    if args.get("deployment_config") is not None:
        base = configuration_from(args["deployment_config"]).given()
    given = {k: args[k] for k in V1_PARAMETERS if args.get(k) is not None}
    return deploy_configuration(**{**base, **given})


def _requirements(environment: Mapping[str, Any], base: Path) -> EnvironmentSpec:
    lines = [str(x) for x in environment.get("pip_requirements") or []]
    file = environment.get("requirements_file")
    if file:
        path = base / str(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise WebserviceException(
                f"Error, cannot read requirements_file {file!r}: {exc.strerror}."
            ) from None
        for raw in text.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return EnvironmentSpec(pip_requirements=tuple(lines), index_url=environment.get("index_url"))


def environment_spec(environment: Mapping[str, Any], base: Path | None = None) -> EnvironmentSpec:
    """The requirement lines of an ``environment`` argument (``requirements_file`` read
    relative to ``base``, default: the working directory)."""
    return _requirements(environment, base or Path.cwd())


def workload_from(args: Mapping[str, Any], base: Path | None = None) -> WorkloadSettings:
    """WorkloadSettings from the non-v1 arguments; files (code, requirements) are read
    relative to ``base`` (default: the working directory)."""
    root = base or Path.cwd()
    unknown = sorted(set(args) - set(WORKLOAD_ARGS) - set(V1_PARAMETERS) - {"deployment_config"})
    if unknown:
        raise WebserviceException(
            f"Error, unknown AksWebservice argument(s): {', '.join(unknown)}."
        )
    fields: dict[str, Any] = {
        k: v
        for k, v in args.items()
        if k in WORKLOAD_ARGS and k not in COMPONENT_ONLY_ARGS and v is not None
    }
    if "exposure" in fields:
        fields["exposure"] = enum_value("exposure", fields["exposure"], Exposure)
    if "runtime_mode" in fields:
        fields["runtime_mode"] = enum_value("runtime_mode", fields["runtime_mode"], RuntimeMode)
    if "autoscaler" in fields:
        fields["autoscaler"] = enum_value("autoscaler", fields["autoscaler"], AutoscalerKind)
    if "models" in fields:
        models = []
        for model in fields["models"]:
            entry = dict(model)
            if "source" in entry:
                entry["source"] = enum_value("model source", entry["source"], ModelSource)
            models.append(entry)
        fields["models"] = models
    if "environment" in fields:
        fields["environment"] = _requirements(fields["environment"], root)
    entry_script = args.get("entry_script")
    source_directory = args.get("source_directory")
    if entry_script:
        if args.get("code_in_image"):
            if source_directory:
                entry_script = f"{Path(str(source_directory)).name}/{entry_script}"
            fields["entry_script"] = entry_script
        else:
            script, bundle = load_code(str(entry_script), source_directory, base=root)
            fields["entry_script"] = script
            fields["code"] = bundle
    elif source_directory:
        raise WebserviceException("Error, need to specify entry_script.")
    try:
        return WorkloadSettings.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise WebserviceException(f"Error, invalid AksWebservice arguments: {problems}.") from None


def settings_from_args(
    args: Mapping[str, Any], base: Path | None = None
) -> tuple[AksServiceDeploymentConfiguration, WorkloadSettings]:
    """Validate component arguments into (v1 configuration, workload settings)."""
    config = v1_configuration(args)
    return config, workload_from(args, base)
