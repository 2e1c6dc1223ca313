"""Endpoint test fixtures: the component mocks and the plan validators, reused from
tests/components and tests/plan (loaded by path: tests run with --import-mode=importlib)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(Path(__file__).parent))

_TESTS = Path(__file__).resolve().parents[1]
_components = _load("aksml_endpoint_components_conftest", _TESTS / "components" / "conftest.py")
_plan = _load("aksml_endpoint_plan_conftest", _TESTS / "plan" / "conftest.py")

pulumi_mocks = _components.pulumi_mocks
validate_object = _plan.validate_object
