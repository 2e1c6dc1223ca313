"""Property-based fuzzing of a live runtime from its own OpenAPI document (schemathesis).

The runtime serves swagger generated from an inference-schema decorated score.py; schemathesis
generates valid and invalid requests for every operation in it and checks each answer:
documented status, content type and body schema; no answer the runtime itself failed on
(500/503/504 or a 502 not flagged as a script failure); invalid input never accepted with 200.
A decorator that refuses a value is a script failure in v1 (502 here, flagged
``x-ms-run-function-failed: True``), so that is allowed for both valid and invalid input (the
schema says "array of arrays of numbers"; the script also wants exactly three columns).
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from relkit import SCRIPTS, Runtime, RuntimeFactory, report, scaled
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
LIVENESS_CHECKS = [status_code_conformance, response_schema_conformance]
"""``GET /`` answers ``text/html`` while the swagger says ``application/json`` (v2) or
``text/plain`` (v3): both inherited from azureml-inference-server-http 1.5.1, whose templates
and liveness answer the runtime reproduces for compatibility, so its content type is not
checked."""

SCRIPT_FAILED = "x-ms-run-function-failed"


def _fuzz(rt: Runtime, version: str, mode: GenerationMode, examples: int) -> dict[int, int]:
    raw = httpx.get(f"{rt.base}/swagger.json", params={"version": version}, timeout=10).json()
    schema = schemathesis.openapi.from_dict(raw)
    input_schema = Draft4Validator(
        raw["definitions"]["ServiceInput"]
        if "definitions" in raw
        else raw["components"]["schemas"]["ServiceInput"]
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/", "/score", "/swagger.json"}
    strategy = st.one_of(*(op.as_strategy(generation_mode=mode) for op in operations))
    statuses: dict[int, int] = {}
    auth = {"Authorization": f"Bearer {rt.key}"}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        response = case.call(base_url=rt.base, headers=auth, timeout=10)
        status = response.status_code
        statuses[status] = statuses.get(status, 0) + 1
        assert rt.proc.returncode() is None, "the runtime exited"
        flag = response.headers.get(SCRIPT_FAILED)
        failed_script = (flag[0] if isinstance(flag, list) and flag else flag) == "True"
        assert status < 500 or (status == 502 and failed_script), (
            f"{case.method} {case.path} -> {status} {response.text[:300]}"
        )
        if mode is GenerationMode.NEGATIVE and case.operation.path == "/score" and status == 200:
            # only a body that is valid after all (the mutation was elsewhere) may score
            assert input_schema.is_valid(case.body), f"invalid input accepted: {case.body!r}"
        if status < 500:
            checks = LIVENESS_CHECKS if case.operation.path == "/" else CHECKS
            case.validate_response(response, checks=checks, headers=auth)

    check()
    return statuses


def test_schemathesis_against_the_runtime_swagger(runtimes: RuntimeFactory) -> None:
    rt = runtimes.start(SCRIPTS / "score_schema.py")
    examples = int(scaled(30, 400))
    totals: dict[str, dict[int, int]] = {}
    for version in ("2", "3"):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            totals[f"v{version} {mode.value}"] = _fuzz(rt, version, mode, examples)
    calls = sum(sum(s.values()) for s in totals.values())
    report(
        "schemathesis fuzzing",
        load="swagger v2 and v3, valid and invalid requests",
        faults=f"{calls} generated requests",
        requests=calls,
        lost=0,
    )
    # the fuzzer reached run() with valid input
    assert totals["v3 positive"].get(200, 0) > 0, totals
    assert httpx.get(rt.live_url, timeout=5).status_code == 200
