"""Canonical YAML for rendered objects: stable key order, byte-identical for equal input."""

from __future__ import annotations

import copy
from typing import Any

import yaml

REDACTED = "<redacted>"
"""What Secret values are replaced with in rendered files."""

_TOP_ORDER = ("apiVersion", "kind", "metadata")


def _ordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _ordered(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def canonical(obj: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata first; every other key (at every depth) sorted."""
    head = {k: _ordered(obj[k]) for k in _TOP_ORDER if k in obj}
    tail = {k: _ordered(obj[k]) for k in sorted(obj) if k not in _TOP_ORDER}
    return {**head, **tail}


def redact(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy with every Secret ``data``/``stringData`` value replaced by ``<redacted>``."""
    out = copy.deepcopy(obj)
    if out.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if isinstance(out.get(field), dict):
                out[field] = {key: REDACTED for key in out[field]}
    return out


class _Dumper(yaml.SafeDumper):
    """SafeDumper that keeps insertion order and writes multi-line strings as blocks."""


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data and not data.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def to_yaml(obj: dict[str, Any]) -> str:
    """One object as canonical YAML (Secret values redacted)."""
    return yaml.dump(
        canonical(redact(obj)),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )


def file_name(obj: dict[str, Any]) -> str:
    """``<kind-lowercase>-<metadata.name>.yaml``."""
    return f"{str(obj['kind']).lower()}-{obj['metadata']['name']}.yaml"
