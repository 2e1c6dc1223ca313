"""Differential test: our validation against azureml-core 1.61.0.post4's own validators.

A reference virtual environment with azureml-core is built (or reused) OUTSIDE the project venv,
under ``~/.cache/aksml-ref`` (``AKSML_REF_CACHE`` overrides), with ``uv`` (needs PyPI the first
time). A few hundred random numeric configurations go to ONE subprocess in that venv (JSON in,
JSON out) that calls ``AksWebservice.deploy_configuration(**kw)`` /
``AksEndpoint.deploy_configuration(**kw)`` and ``AksWebservice._validate_update(...)`` on a
stand-in deployed service, recording each exception message; ours must be identical whenever v1
rejected the input.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aksml.errors import WebserviceException
from aksml.v1 import deploy_configuration, endpoint_deploy_configuration
from aksml.v1.validation import v1_update_messages

AZUREML_CORE = "azureml-core==1.61.0.post4"
DEPLOY_CASES = 400
UPDATE_CASES = 200
MIXED_CASES = 400

_REF_SCRIPT = r"""
import inspect, json, sys
from azureml.core.webservice import AksWebservice, AksEndpoint
from azureml.core.webservice.aks import ContainerResourceRequirements
from azureml.exceptions import WebserviceException


def existing_service(state):
    # a deployed service as _validate_update sees it, without a workspace
    svc = object.__new__(AksWebservice)
    svc.environment = None
    svc.image = None
    svc.container_resource_requirements = ContainerResourceRequirements(
        cpu=state["cpu"], memory_in_gb=state["memory"], cpu_limit=state["cpu_limit"],
        memory_in_gb_limit=state["memory_limit"])
    svc.auth_enabled = state["auth"]
    svc.token_auth_enabled = state["token"]
    return svc


cases = json.load(open(sys.argv[1]))
out = []
for case in cases:
    try:
        if case["kind"] == "update":
            svc = existing_service(case["existing"])
            names = inspect.signature(svc._validate_update).parameters
            svc._validate_update(**{n: case["kwargs"].get(n) for n in names})
        else:
            factory = AksEndpoint if case["kind"] == "endpoint" else AksWebservice
            factory.deploy_configuration(**case["kwargs"])
        out.append(None)
    except WebserviceException as exc:
        out.append(exc.message)
    except Exception as exc:  # a crash in v1 is recorded, never compared as a message
        out.append("CRASH " + type(exc).__name__)
json.dump(out, open(sys.argv[2], "w"))
"""


def _ref_python() -> Path:
    cache = Path(os.environ.get("AKSML_REF_CACHE", Path.home() / ".cache" / "aksml-ref"))
    venv = cache / AZUREML_CORE.replace("==", "-")
    python = venv / "bin" / "python"
    # cheap check (importing azureml.core takes seconds): the installed distribution's version
    check = [str(python), "-c", "import importlib.metadata as m; print(m.version('azureml-core'))"]
    if python.exists():
        found = subprocess.run(check, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == AZUREML_CORE.split("==")[1]:
            return python
    uv = shutil.which("uv")
    assert uv is not None, "the differential test needs `uv` on PATH to build its reference venv"
    subprocess.run([uv, "venv", "-q", "--python", "3.11", str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--python", str(python), AZUREML_CORE], check=True)
    return python


_INT_FIELDS = (
    "autoscale_min_replicas",
    "autoscale_max_replicas",
    "autoscale_refresh_seconds",
    "autoscale_target_utilization",
    "scoring_timeout_ms",
    "replica_max_concurrent_requests",
    "max_request_wait_time",
    "num_replicas",
    "gpu_cores",
    "period_seconds",
    "initial_delay_seconds",
    "timeout_seconds",
    "success_threshold",
    "failure_threshold",
)
_FLOAT_FIELDS = ("cpu_cores", "memory_gb", "cpu_cores_limit", "memory_gb_limit")
_BOOL_FIELDS = ("autoscale_enabled", "auth_enabled", "token_auth_enabled")
_NAMESPACES = ("default", "ml-prod", "Bad_NS", "-x", "a" * 63, "a" * 64)
_VERSIONS = ("blue", "green-2", "B", "ab", "x" * 33)


def _deploy_cases(rng: random.Random) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for index in range(DEPLOY_CASES):
        endpoint = index % 3 == 0
        mostly_valid = index % 2 == 0  # half the cases stay close to valid configurations
        ints = [1, 2, 3, 5, 12] if mostly_valid else [-2, -1, 0, 0, 1, 2, 3, 5, 12]
        floats = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 4] + ([] if mostly_valid else [-1, 0])
        kwargs: dict[str, Any] = {}
        for name in _INT_FIELDS:
            if rng.random() < (0.08 if mostly_valid else 0.2):
                kwargs[name] = rng.choice(ints)
        for name in _FLOAT_FIELDS:
            if rng.random() < 0.3:
                kwargs[name] = rng.choice(floats)
        for name in _BOOL_FIELDS:
            if rng.random() < 0.35:
                kwargs[name] = rng.choice([True, False])
        if rng.random() < 0.15:
            kwargs["namespace"] = rng.choice(_NAMESPACES)
        if endpoint and rng.random() < 0.5:
            kwargs["traffic_percentile"] = rng.choice([-5, 0, 10, 50.5, 100, 101])
        if endpoint and rng.random() < 0.4:
            kwargs["version_name"] = rng.choice(_VERSIONS)
        cases.append({"kind": "endpoint" if endpoint else "deploy", "kwargs": kwargs})
    return cases


def _mixed_cases(rng: random.Random) -> list[dict[str, Any]]:
    """Values v1 evaluates but aksml's own rules refuse (non-integers for whole-number
    parameters, negative or zero limits, bools for numbers and numbers for bools), mixed with
    values v1 itself rejects: v1's message must win wherever v1 rejects."""
    cases: list[dict[str, Any]] = []
    fractions = [0.5, 1.5, 2.5, -0.5, 3.0, 150.5]
    for index in range(MIXED_CASES):
        endpoint = index % 4 == 0
        kwargs: dict[str, Any] = {}
        for name in _INT_FIELDS:
            if rng.random() < 0.15:
                kwargs[name] = rng.choice([*fractions, -1, 0, 1, 2, 150, True, False])
        for name in _FLOAT_FIELDS:
            if rng.random() < 0.3:
                kwargs[name] = rng.choice([-2.5, -1, 0, 0.1, 0.5, 1, 2.5, True])
        for name in _BOOL_FIELDS:
            if rng.random() < 0.35:
                kwargs[name] = rng.choice([True, False, 0, 1])
        if endpoint and rng.random() < 0.4:
            kwargs["traffic_percentile"] = rng.choice([-5, 0, 10, 50.5, 100, 101, True])
        cases.append({"kind": "endpoint" if endpoint else "deploy", "kwargs": kwargs})
    # the example: fractional knobs without autoscale (v1 lists both knobs)
    cases.append(
        {
            "kind": "deploy",
            "kwargs": {"autoscale_target_utilization": 2.5, "autoscale_min_replicas": 150},
        }
    )
    return cases


def _update_cases(rng: random.Random) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for _ in range(UPDATE_CASES):
        cpu, memory = rng.choice([0.1, 0.5, 1]), rng.choice([0.5, 1, 2])
        auth = rng.choice([True, False])
        existing = {
            "cpu": cpu,
            "memory": memory,
            "cpu_limit": rng.choice([None, cpu, cpu * 2]),
            "memory_limit": rng.choice([None, memory, memory * 2]),
            "auth": auth,
            "token": not auth and rng.random() < 0.7,
        }
        kwargs: dict[str, Any] = {}
        for name in _INT_FIELDS:
            if rng.random() < 0.1:
                kwargs[name] = rng.choice([-1, 0, 1, 2, 3, 12])
        for name in _FLOAT_FIELDS:
            if rng.random() < 0.25:
                kwargs[name] = rng.choice([-1, 0, 0.05, 0.1, 0.5, 1, 2, 4])
        for name in _BOOL_FIELDS:
            if rng.random() < 0.3:
                kwargs[name] = rng.choice([True, False])
        if rng.random() < 0.1:
            kwargs["namespace"] = rng.choice(_NAMESPACES)
        cases.append({"kind": "update", "existing": existing, "kwargs": kwargs})
    return cases


def _ours(case: dict[str, Any]) -> str | None:
    if case["kind"] == "update":
        state = case["existing"]
        message = v1_update_messages(
            case["kwargs"],
            existing_cpu=state["cpu"],
            existing_cpu_limit=state["cpu_limit"],
            existing_memory=state["memory"],
            existing_memory_limit=state["memory_limit"],
            existing_auth=state["auth"],
            existing_token_auth=state["token"],
        )
        return message or None
    factory = endpoint_deploy_configuration if case["kind"] == "endpoint" else deploy_configuration
    try:
        factory(**case["kwargs"])
    except WebserviceException as exc:
        return exc.message
    return None


Outcomes = list[tuple[dict[str, Any], str | None]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    """Every case with azureml-core's outcome, from one run of the reference interpreter."""
    python = _ref_python()
    rng = random.Random(20261125)
    cases = _deploy_cases(rng) + _update_cases(rng)
    cases += [{**c, "mixed": True} for c in _mixed_cases(random.Random(20261207))]
    work = tmp_path_factory.mktemp("aml-ref")
    (work / "cases.json").write_text(json.dumps(cases))
    (work / "ref_validate.py").write_text(_REF_SCRIPT)
    subprocess.run(
        [str(python), str(work / "ref_validate.py"), str(work / "cases.json"), str(work / "out")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    results: list[str | None] = json.loads((work / "out").read_text())
    assert len(results) == len(cases)
    for case, theirs in zip(cases, results, strict=True):
        assert theirs is None or not theirs.startswith("CRASH"), (case, theirs)
    return list(zip(cases, results, strict=True))


def _compare(reference: Outcomes, mixed: bool) -> tuple[int, list[tuple[dict[str, Any], str]]]:
    """Assert v1's exact message wherever v1 rejected a deploy case; return (how many v1
    rejected, [(case, our message)] where only aksml rejected)."""
    rejected = 0
    beyond: list[tuple[dict[str, Any], str]] = []
    for case, theirs in reference:
        if case["kind"] == "update" or bool(case.get("mixed")) != mixed:
            continue
        ours = _ours(case)
        if theirs is not None:
            rejected += 1
            assert ours == theirs, case
        elif ours is not None:
            beyond.append((case, ours))
    return rejected, beyond


def test_deploy_configuration_messages_identical(reference: Outcomes) -> None:
    rejected, beyond = _compare(reference, mixed=False)
    for case, ours in beyond:
        # beyond v1: only a limit <= 0 (accepted by v1, rejected by Kubernetes)
        kw = case["kwargs"]
        bad = [n for n in ("cpu_cores_limit", "memory_gb_limit") if kw.get(n, 1) <= 0]
        assert bad, (case, ours)
        assert ours == "".join(
            f"Invalid configuration, {n} must be greater than zero.\n" for n in bad
        )
    # the sample exercises both outcomes
    assert 0.3 * DEPLOY_CASES < rejected < 0.8 * DEPLOY_CASES


_BEYOND_V1 = (
    "must be a whole number",
    "must be true or false",
    "must be a number,",
    "must be greater than zero.",  # a limit <= 0 (v1 accepted it)
    "must be a finite number",
    "must be at most",
)


def test_mixed_values_keep_v1_messages(reference: Outcomes) -> None:
    """Fractions, negative limits, bools and numbers crossed: where v1 rejects, its message
    byte for byte; where v1 accepts, nothing or only aksml's beyond-v1 rules."""
    rejected, beyond = _compare(reference, mixed=True)
    for case, ours in beyond:
        lines = ours.splitlines()
        assert all(any(rule in line for rule in _BEYOND_V1) for line in lines), (case, ours)
    assert rejected > 0.2 * MIXED_CASES and len(beyond) > 0.1 * MIXED_CASES, (rejected, beyond)


def test_update_messages_identical(reference: Outcomes) -> None:
    rejected = 0
    for case, theirs in reference:
        if case["kind"] != "update":
            continue
        rejected += theirs is not None
        assert _ours(case) == theirs, case
    assert 0.2 * UPDATE_CASES < rejected < 0.9 * UPDATE_CASES


if __name__ == "__main__":  # build the reference venv by hand: python tests/spec/...py
    print(_ref_python(), file=sys.stderr)
