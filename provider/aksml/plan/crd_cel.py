"""The CEL validation rules of the shipped CRDs (Gateway API HTTPRoute, KEDA ScaledObject),
evaluated on rendered objects.

A cluster's API server checks a custom resource against its CRD's ``x-kubernetes-validations``
(CEL) after structural validation; a rule that fails rejects the whole object at ``pulumi up``.
This module does the same at preview, the way the API server does it
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation-rules):

1. schema ``default`` values are applied first (the API server defaults before it validates:
   backendRef ``group``, fraction ``denominator``, path match ``type``/``value`` ...);
2. property names that are CEL keywords or hold ``_ . - /`` are escaped as the API server
   escapes them (``namespace`` -> ``__namespace__``; k8s.io/apiserver/pkg/cel/escaping.go,
   https://github.com/kubernetes/kubernetes/blob/v1.33.0/staging/src/k8s.io/apiserver/pkg/cel/escaping.go);
3. the schema and the object are walked together: a rule on a list's ``items`` runs once per
   item, with ``self`` bound to the value at its node;
4. a rule that does not evaluate to ``true`` -- ``false``, an evaluation error, or a non-bool
   -- is a violation (the API server rejects the object in all three cases).

The CEL engine is ``cel-expr-python`` (the CEL C++ implementation's Python binding; no Python
dependencies). Rules are compiled once per process and cached.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from cel_expr_python import cel

Obj = dict[str, Any]

CRD_DIR = Path(__file__).with_name("crds")
"""The CRDs shipped with the package (copied unchanged from upstream)."""

CRD_FILES: dict[tuple[str, str], str] = {
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): "gateway-api-v1.6.1-standard-httproutes.yaml",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-v2.20.2-scaledobjects.yaml",
}
"""(apiVersion, kind) -> the CRD file whose rules apply to it."""

_CEL_KEYWORDS = frozenset(
    {
        "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
        "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    }
)  # fmt: skip
_ESCAPABLE = re.compile(r"^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$")
_ESCAPES = (("__", "__underscores__"), (".", "__dot__"), ("-", "__dash__"), ("/", "__slash__"))


def escape_property(name: str) -> str | None:
    """A property name as CEL expressions see it (None: not accessible from CEL)."""
    if name in _CEL_KEYWORDS:
        return f"__{name}__"
    if not _ESCAPABLE.match(name):
        return None
    for plain, escaped in _ESCAPES:
        name = name.replace(plain, escaped)
    return name


@functools.cache
def _environment() -> Any:
    return cel.NewEnv(variables={"self": cel.Type.DYN})


@functools.cache
def _program(rule: str) -> Any:
    return _environment().compile(rule, disable_check=True)


@functools.cache
def crd_schema(api_version: str, kind: str) -> Obj:
    """The ``openAPIV3Schema`` of ``kind`` at ``api_version`` from its shipped CRD."""
    version = api_version.split("/")[1]
    crd = yaml.load((CRD_DIR / CRD_FILES[(api_version, kind)]).read_text(), yaml.CSafeLoader)
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            return entry["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]
    raise KeyError(f"{kind} {api_version} is not in {CRD_FILES[(api_version, kind)]}")


def apply_defaults(schema: Obj, value: Any) -> Any:
    """``value`` with every absent property that has a schema ``default`` filled in (in place,
    at every depth, as the API server defaults a custom resource before validating it)."""
    if isinstance(value, dict):
        properties: Obj = schema.get("properties", {})
        for name, sub in properties.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            sub = properties.get(name, extra if isinstance(extra, dict) else None)
            if sub is not None:
                apply_defaults(sub, item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)
    return value


def _to_cel(schema: Obj, value: Any) -> Any:
    """``value`` with declared property names escaped (map keys are kept as they are)."""
    if isinstance(value, dict):
        properties: Obj = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        out: Obj = {}
        for name, item in value.items():
            if name in properties:
                key = escape_property(name)
                if key is not None:
                    out[key] = _to_cel(properties[name], item)
            else:
                out[name] = _to_cel(extra if isinstance(extra, dict) else {}, item)
        return out
    if isinstance(value, list):
        items = schema.get("items")
        return [_to_cel(items if isinstance(items, dict) else {}, v) for v in value]
    return value


def _nodes(schema: Obj, value: Any, cel_value: Any, path: str) -> Iterator[tuple[str, Obj, Any]]:
    """(path, schema node, CEL value) for every value in the object, depth first."""
    yield path, schema, cel_value
    if isinstance(value, dict):
        properties: Obj = schema.get("properties", {})
        for name, item in value.items():
            key = escape_property(name)
            if name in properties and key is not None:
                yield from _nodes(properties[name], item, cel_value[key], f"{path}.{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _nodes(schema["items"], item, cel_value[index], f"{path}[{index}]")


def _passes(rule: str, cel_self: Any) -> tuple[bool, str]:
    """(passed, why not): ``true`` passes; ``false``, an error or a non-bool does not."""
    result = _program(rule).eval(data={"self": cel_self})
    if result.type() == cel.Type.BOOL:
        return bool(result.value()), ""
    return False, f" (evaluation error: {result.value()})"


def cel_problems(obj: Obj) -> list[str]:
    """Every CEL rule of the object's CRD that the object breaks (empty for other kinds).

    Each problem names the object, the field path and the rule's message."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    if key not in CRD_FILES:
        return []
    schema = crd_schema(*key)
    value = apply_defaults(schema, copy.deepcopy(obj))
    where = f"{obj['kind']}/{obj.get('metadata', {}).get('name', '?')}"
    problems: list[str] = []
    for path, node, cel_self in _nodes(schema, value, _to_cel(schema, value), ""):
        for validation in node.get("x-kubernetes-validations", []):
            passed, why = _passes(validation["rule"], cel_self)
            if not passed:
                message = validation.get("message") or f"failed rule: {validation['rule']}"
                problems.append(f"{where} {path or '.'}: {message}{why}")
    return problems
