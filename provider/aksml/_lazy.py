"""Lazy package attributes (PEP 562), shared by the packages that load heavy parts on first use."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def lazy_attribute(
    package: str, lazy: Mapping[str, str], namespace: dict[str, Any], name: str
) -> Any:
    """The body of a package's ``__getattr__``: import ``name`` from the module ``lazy`` maps
    it to, keep it in the package's ``namespace`` (so the next access is a plain lookup)."""
    module = lazy.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    namespace[name] = value
    return value
