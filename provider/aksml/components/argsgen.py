"""Writes ``args_generated.py``: the component argument TypedDicts, from the parameter tables.

Pulumi's component provider reads the provider schema from the args TypedDicts: the types from
their annotations, each field's description from the docstring under it in the class's *own*
source (``pulumi.provider.experimental.analyzer.Analyzer.get_docstring``; inherited fields lose
theirs). So the fields must exist as source text. They are generated from:

- ``aksml.v1.params.PARAMETERS`` (the v1 parameters: ``Kind`` gives the type, ``doc`` /
  ``version_doc`` / ``endpoint_doc`` the description),
- ``aksml.plan.settings.WorkloadSettings`` (the beyond-v1 settings: the field's type and
  docstring; :class:`~aksml.plan.settings.EndpointLevel` marks the endpoint-level ones),
- :data:`OWN_ARGS` below (what the components read themselves: ``deployment_config``,
  ``timeouts``, ``azure``, ...),

in the lists the plan already derives (``plan.inputs.WORKLOAD_ARGS``,
``plan.endpoint.VERSION_WORKLOAD_ARGS``, ...). Run ``scripts/generate`` (this module, then
``aksml schema -o provider/schema.json``); ``tests/components/test_args_generated.py`` fails when
the checked-in module is stale.
"""

from __future__ import annotations

import re
import sys
import textwrap
import types
import typing
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal

from aksml.plan.endpoint import (
    ENDPOINT_ONLY_ARGS,
    ENDPOINT_WORKLOAD_ARGS,
    VERSION_ROUTING_ARGS,
    VERSION_WORKLOAD_ARGS,
)
from aksml.plan.inputs import WORKLOAD_ARGS
from aksml.plan.settings import (
    EnvironmentSpec,
    GatewaySpec,
    IngressSpec,
    KedaSpec,
    ModelRef,
    ProxySpec,
    Toleration,
    WorkloadSettings,
    endpoint_level,
)
from aksml.v1.params import (
    BY_NAME,
    ENDPOINT_SETTINGS,
    SERVICE_PARAMETERS,
    VERSION_SETTINGS,
    Kind,
)

Where = Literal["service", "version", "endpoint"]
"""Which TypedDict a field is written for."""

GENERATED_FILE: Final = Path(__file__).with_name("args_generated.py")
"""The generated module (checked in)."""

COMMAND: Final = "scripts/generate"
"""The one command that regenerates it and ``provider/schema.json``."""


@dataclass(frozen=True)
class OwnArg:
    """A component argument that is neither a v1 parameter nor a ``WorkloadSettings`` field."""

    annotation: str
    """Its TypedDict annotation, as source text."""
    doc: str
    """Its description."""
    endpoint_doc: str = ""
    """Its description on ``AksEndpointArgs`` when it differs."""


OWN_ARGS: Final[dict[str, OwnArg]] = {
    "deployment_config": OwnArg(
        "NotRequired[pulumi.Input[Any]]",
        "An AksServiceDeploymentConfiguration, or its AML v1 JSON (text or object, e.g. the "
        "content of deploymentconfig.json). Fields set below override it.",
    ),
    "source_directory": OwnArg(
        "NotRequired[pulumi.Input[str]]",
        "Directory shipped with the entry script (ConfigMap, at most 1 MiB).",
    ),
    "code_in_image": OwnArg(
        "NotRequired[pulumi.Input[bool]]",
        "The code is baked into the image: nothing is shipped, only the paths are set.",
    ),
    "primary_key_generation": OwnArg(
        "NotRequired[int]",
        "Generation of the generated primary key (default 0): raise it to regenerate that key "
        'on the next update, v1\'s regen_key("Primary") (see docs/auth.md).',
    ),
    "secondary_key_generation": OwnArg(
        "NotRequired[int]",
        "Generation of the generated secondary key (default 0): raise it to regenerate that key "
        'on the next update, v1\'s regen_key("Secondary").',
    ),
    "skip_await": OwnArg(
        "NotRequired[pulumi.Input[bool]]",
        "Do not wait for the Deployment/Service/Ingress/HTTPRoute/ScaledObject to become ready "
        "(URIs may then use the in-cluster DNS name).",
        "Do not wait for Deployments/Services/Ingresses/HTTPRoutes to become ready.",
    ),
    "timeouts": OwnArg(
        "NotRequired[TimeoutsArgs]",
        "How long to wait for the Deployment's rollout and the Ingress/HTTPRoute (Pulumi custom "
        "timeouts; pulumi-kubernetes' default is 10m), v1's wait_for_deployment(timeout_sec).",
        "How long to wait for each version's rollout and the Ingress/HTTPRoute (Pulumi custom "
        "timeouts), v1's wait_for_deployment(timeout_sec).",
    ),
    "azure": OwnArg(
        "NotRequired[AzureArgs]",
        "Create and wire the service's Azure resources (see docs/azure.md): the AKS cluster's "
        "Kubernetes provider, App Insights, uploaded models and the modeldata container in a "
        "key-less storage account, and workload identity.",
        "Create and wire the endpoint's Azure resources, shared by every version (see "
        "docs/azure.md): the cluster's Kubernetes provider, one App Insights, one workload "
        "identity trusted by each version's service account, uploaded models "
        "(``models[].versions`` picks the versions) and the modeldata container. ``image`` is "
        "not supported here.",
    ),
    "is_default": OwnArg(
        "NotRequired[pulumi.Input[bool]]",
        "The default version (receives the remaining traffic). None marked: the first version.",
    ),
    "version_type": OwnArg(
        "NotRequired[pulumi.Input[VersionType]]",
        "control (exactly one; default: the default version) or treatment.",
    ),
    "versions": OwnArg(
        "pulumi.Input[Sequence[pulumi.Input[AksEndpointVersionArgs]]]",
        "The versions (at least one); traffic is split by traffic_percentile.",
    ),
    "mirror_to": OwnArg(
        "NotRequired[pulumi.Input[str]]",
        "Shadow version: a copy of the split requests goes to it (responses discarded).",
    ),
    "mirror_percent": OwnArg(
        "NotRequired[pulumi.Input[int]]",
        "Share of the split requests mirrored to mirror_to (1-100, default 100).",
    ),
}
"""What the components read themselves (not table rows), with their types and descriptions."""

REQUIRED: Final = frozenset({"version_name"})
"""Table rows a TypedDict requires (every other generated field is ``NotRequired``)."""

_KIND_TYPES: Final[dict[Kind, str]] = {
    Kind.BOOL: "bool",
    Kind.INT: "int",
    Kind.FLOAT: "float",
    Kind.STR: "str",
    Kind.STR_MAP: "Mapping[str, pulumi.Input[str]]",
}

_NESTED_ARGS: Final[dict[type, str]] = {
    ModelRef: "ModelArgs",
    EnvironmentSpec: "EnvironmentArgs",
    IngressSpec: "IngressArgs",
    GatewaySpec: "GatewayArgs",
    ProxySpec: "ProxyArgs",
    KedaSpec: "KedaArgs",
    Toleration: "TolerationArgs",
}
"""``WorkloadSettings`` field types -> their hand-written argument TypedDict (``arg_types.py``)."""

_IMPORTS: Final[dict[str, str]] = {
    "Mapping": "collections.abc",
    "Sequence": "collections.abc",
    "Any": "typing",
    "NotRequired": "typing",
    "TypedDict": "typing",
    "AzureArgs": "aksml.azure.args",
    "TimeoutsArgs": "aksml.components.arg_types",
    "VersionType": "aksml.plan.endpoint",
    **dict.fromkeys(_NESTED_ARGS.values(), "aksml.components.arg_types"),
}

_CLASSES: Final[tuple[tuple[str, Where, str], ...]] = (
    (
        "AksWebserviceArgs",
        "service",
        "Inputs of ``AksWebservice``: the v1 deploy configuration plus what runs and how it is "
        "reached. Everything is optional; the defaults are AML v1's documented ones.",
    ),
    (
        "AksEndpointVersionArgs",
        "version",
        "One version of an endpoint: v1 ``create_version`` parameters plus what runs in it.",
    ),
    (
        "AksEndpointArgs",
        "endpoint",
        "Inputs of ``AksEndpoint``: endpoint-level settings and the list of versions.",
    ),
)


def _setting_type(annotation: Any, field: str) -> str:
    """The argument type (source text) of a ``WorkloadSettings`` field's annotation."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        (only,) = [a for a in args if a is not type(None)]
        return _setting_type(only, field)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return f"Sequence[pulumi.Input[{_setting_type(args[0], field)}]]"
    if origin is dict:
        key, value = (_setting_type(a, field) for a in args)
        return f"Mapping[{key}, pulumi.Input[{value}]]"
    if annotation in _NESTED_ARGS:
        return _NESTED_ARGS[annotation]
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        # closed sets are the plan's own str enums: the generated module imports them from there
        _IMPORTS.setdefault(annotation.__name__, annotation.__module__)
        return annotation.__name__
    if annotation in (str, int, float, bool):
        return str(annotation.__name__)
    raise TypeError(
        f"WorkloadSettings.{field}: no component argument type for {annotation!r}; "
        "add its argument TypedDict to aksml.components.argsgen._NESTED_ARGS"
    )


def _field(name: str, where: Where) -> tuple[str, str]:
    """``(annotation, description)`` of argument ``name`` in the ``where`` TypedDict."""
    if name in OWN_ARGS:
        own = OWN_ARGS[name]
        return own.annotation, (where == "endpoint" and own.endpoint_doc) or own.doc
    if name in BY_NAME:
        row = BY_NAME[name]
        doc = {"service": "", "version": row.version_doc, "endpoint": row.endpoint_doc}[where]
        if not (doc or row.doc):
            raise ValueError(f"parameter {name!r} has no doc in aksml.v1.params.PARAMETERS")
        value = f"pulumi.Input[{_KIND_TYPES[row.kind]}]"
        return (value if name in REQUIRED else f"NotRequired[{value}]"), doc or row.doc
    info = WorkloadSettings.model_fields[name]
    if not info.description:
        raise ValueError(f"WorkloadSettings.{name} has no docstring (its schema description)")
    mark = endpoint_level(name)
    doc = (where == "endpoint" and mark is not None and mark.doc) or info.description
    assert info.annotation is not None
    return f"NotRequired[pulumi.Input[{_setting_type(info.annotation, name)}]]", doc


def field_names(where: Where) -> tuple[str, ...]:
    """The fields of the ``where`` TypedDict, in the order they are written."""
    if where == "service":
        return ("deployment_config", *SERVICE_PARAMETERS, *WORKLOAD_ARGS, "azure")
    if where == "version":
        return (*VERSION_ROUTING_ARGS, *VERSION_SETTINGS, *VERSION_WORKLOAD_ARGS)
    rest = tuple(n for n in ENDPOINT_ONLY_ARGS if n != "versions")
    return ("versions", *ENDPOINT_SETTINGS, *ENDPOINT_WORKLOAD_ARGS, *rest, "azure")


def _docstring(text: str, indent: str = "    ") -> list[str]:
    """``text`` as an attribute docstring. Pulumi keeps the line breaks (and the indentation
    after them) in the schema's description; 94 columns is the width the hand-written fields
    were wrapped at, so their descriptions kept their bytes."""
    text = " ".join(text.split())
    if '"""' in text or "\\" in text or text.endswith('"'):
        raise ValueError(f"description cannot be written as a docstring: {text!r}")
    lines = textwrap.wrap(
        text,
        width=94,
        initial_indent=f'{indent}"""',
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    lines[-1] += '"""'
    return lines


def _imports(annotations: list[str]) -> list[str]:
    names = {"TypedDict"} | set(re.findall(r"(?<![.\w])[A-Z]\w*", " ".join(annotations)))
    names -= {name for name, _, _ in _CLASSES}
    by_module: dict[str, list[str]] = {}
    for name in sorted(names):
        if name not in _IMPORTS:
            raise ValueError(f"generated args use {name!r}: add its module to _IMPORTS")
        by_module.setdefault(_IMPORTS[name], []).append(name)
    stdlib = [m for m in sorted(by_module) if not m.startswith("aksml")]
    ours = [m for m in sorted(by_module) if m.startswith("aksml")]
    out: list[str] = []
    for group in (stdlib, None, ours):
        if group is None:
            out += ["", "import pulumi", ""]
            continue
        for module in group:
            line = f"from {module} import {', '.join(by_module[module])}"
            if len(line) > 100:
                line = f"from {module} import (\n" + "".join(
                    f"    {n},\n" for n in by_module[module]
                )
                line += ")"
            out.append(line)
    return out


def render() -> str:
    """The text of ``args_generated.py`` for the current tables."""
    body: list[str] = []
    annotations: list[str] = []
    for class_name, where, doc in _CLASSES:
        body += ["", "", f"class {class_name}(TypedDict):", *_docstring(doc), ""]
        for name in field_names(where):
            annotation, description = _field(name, where)
            annotations.append(annotation)
            body += [f"    {name}: {annotation}", *_docstring(description)]
    classes = "\n".join(body)
    head = [
        '"""The component argument TypedDicts, generated from the parameter tables',
        "(``aksml.v1.params.PARAMETERS``, ``aksml.plan.settings.WorkloadSettings``) and",
        "``aksml.components.argsgen.OWN_ARGS``. Import them from ``aksml.components.args`` and",
        '``aksml.components.endpoint_args``."""',
        "",
        f"# Generated by {COMMAND} (aksml.components.argsgen); do not edit.",
        "",
        *_imports(annotations),
        "",
        f"__all__ = [{', '.join(sorted(f'{n!r}' for n, _, _ in _CLASSES))}]".replace("'", '"'),
        "",
    ]
    return "\n".join(head) + classes + "\n"


def main() -> None:
    """Write :data:`GENERATED_FILE` (``python -m aksml.components.argsgen``)."""
    text = render()
    if GENERATED_FILE.exists() and GENERATED_FILE.read_text(encoding="utf-8") == text:
        sys.stdout.write(f"{GENERATED_FILE.name} is up to date\n")
        return
    GENERATED_FILE.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {GENERATED_FILE}\n")


if __name__ == "__main__":
    main()
