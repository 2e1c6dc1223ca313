"""Differential test: inference-schema-decorated score.py files served by
azureml-inference-server-http 1.5.1 (its own virtualenv, ``bench/setup_reference.sh``) and by
``aksml serve`` (fast codec and parameter decoding on): the same swagger ``definitions`` /
``components.schemas``, and for every request the same status, content type, run-failed flag
and JSON value of the body.

Intended differences: a script's 500 is sent as 502 by aksml (azureml-fe's rewrite); bodies are
compared as JSON values (aksml encodes with orjson, see docs/runtime.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from reference_server import running_reference

SCRIPTS = Path(__file__).parent / "scripts"


class Case(NamedTuple):
    """One request sent to both servers."""

    method: str
    query: str
    content_type: str | None
    body: bytes


def post(body: str | bytes, content_type: str | None = "application/json") -> Case:
    """A POST /score case."""
    return Case("POST", "", content_type, body.encode() if isinstance(body, str) else body)


COMMON = [
    post(""),
    post("[1, 2]"),
    post("{not json"),
    post('{"data": 1}', "text/plain"),
    post('{"data": 1}', None),
    post('"\\ud800"'),
    post(b"\xef\xbb\xbf{}"),
]
CASES: dict[str, list[Case]] = {
    "numpy_decorated.py": [
        *COMMON,
        post('{"data": [[1.0, 2.0, 3.0], [4, 5, 6]]}'),
        post('{"data": [[1.0, 2.0, 3.0]], "scale": 2}'),
        post('{"data": [[1.0, 2.0, 3.0]], "scale": 2.5, "extra": "é☃"}'),
        post('{"data": [[1.0, 2.0]]}'),
        post('{"data": [1.0, 2.0, 3.0]}'),
        post('{"data": [["a", "b", "c"]]}'),
        post('{"data": [[NaN, Infinity, -Infinity]]}'),
        post('{"data": [[1e400, 1, 2]]}'),
        post('{"data": [[123456789012345678901234567890, 1, 2]]}'),
        post('{"data": [[1, 2, 3]], "scale": 123456789012345678901234567890}'),
        post('{"data": []}'),
        post('{"data": "x"}'),
        post('{"scale": 1}'),
        post('{"data": [[1, 2, 3]], "scale": "x"}'),
        Case("GET", "?data=[[1,2,3]]&scale=2", None, b""),
        Case("GET", "?data=[[1,2]]", None, b""),
    ],
    "pandas_decorated.py": [
        *COMMON,
        post('{"frame": [{"a": 1, "b": 2.5}, {"a": 3, "b": 4}]}'),
        post('{"frame": [{"b": 2.5, "a": 1}]}'),
        post('{"frame": [{"a": 1}]}'),
        post('{"frame": [{"a": 1, "b": 2.0, "c": "x"}]}'),
        post('{"frame": [{"a": 1.5, "b": "x"}]}'),
        post('{"frame": [{"a": null, "b": 1.0}]}'),
        post('{"frame": [{"a": 1, "b": 9.265066237858661e-05}]}'),
        post('{"frame": []}'),
        post('{"frame": {}}'),
        post('{"frame": 3}'),
        post('{"frame": [{"a": 1, "b": NaN}]}'),
    ],
    "schema_nested.py": [
        *COMMON,
        post(
            json.dumps(
                {
                    "payload": {
                        "x": [[1, 2, 3], [4.5, 5, 6]],
                        "f": {"columns": ["k", "v", "n"], "index": [0], "data": [["z", 1, 7]]},
                        "n": 3,
                    },
                    "rows": {"k": {"0": "a", "1": "b"}, "v": {"0": 1.5, "1": 2}, "n": {"0": 1}},
                    "label": "é",
                }
            )
        ),
        post('{"payload": {"x": [[1, 2]], "f": {}}, "rows": {}}'),
        post('{"payload": {"x": [[1, 2, 3]]}, "rows": {"k": {"0": "a"}}}'),
        post('{"payload": [], "rows": {}}'),
        post('{"payload": {"x": [[1, 2, 3]], "n": "no"}, "rows": {"k": {"0": "a"}}}'),
        post('{"rows": {}}'),
    ],
    "schema_output_only.py": [
        *COMMON,
        post('{"data": [1, 2]}'),
        post('{"data": {"é": [1.5, null]}}'),
        post("{}"),
    ],
}
SCRIPT_NAMES = list(CASES)


@pytest.fixture(scope="module", params=SCRIPT_NAMES)
def pair(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    start_server_fn: Callable[..., Any],
) -> Iterator[tuple[str, str, str]]:
    """(script name, reference base URL, aksml base URL) serving the same script."""
    name: str = request.param
    script = SCRIPTS / name
    with running_reference(script, tmp_path_factory.mktemp("azmlinfsrv")) as reference:
        server = start_server_fn(["--entry-script", str(script), "--worker-mode", "thread"])
        server.wait_ready()
        try:
            yield name, reference, server.url
        finally:
            assert server.stop() == 0


def _send(base: str, case: Case) -> httpx.Response:
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    with httpx.Client(base_url=base, timeout=30.0) as client:
        url = "/score" + case.query
        return client.request(case.method, url, headers=headers, content=case.body)


def _value(response: httpx.Response) -> Any:
    """The body's JSON value, NaN made comparable."""
    return _comparable(json.loads(response.content))


def _comparable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "<NaN>"
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    return value


def test_same_answers_as_the_reference(pair: tuple[str, str, str]) -> None:
    name, reference, ours = pair
    for case in CASES[name]:
        expected = _send(reference, case)
        got = _send(ours, case)
        where = f"{name}: {case}"
        status = 502 if expected.status_code == 500 else expected.status_code
        assert got.status_code == status, (where, expected.text, got.text)
        assert got.headers.get("content-type") == expected.headers.get("content-type"), where
        assert _value(got) == _value(expected), where
        assert got.headers.get("x-ms-run-function-failed") == expected.headers.get(
            "x-ms-run-function-failed"
        ), where


@pytest.mark.parametrize(
    ("version", "key"),
    [("2", None), ("3", "schemas"), ("3.1", "schemas"), ("4", None), (None, None)],
)
def test_same_swagger_definitions(
    pair: tuple[str, str, str], version: str | None, key: str | None
) -> None:
    """``definitions`` (2.0) / ``components.schemas`` (3.x) as the reference generates them,
    so that clients generated from the document see the same types after migrating."""
    name, reference, ours = pair
    params = {"version": version} if version is not None else {}
    expected_response = httpx.get(f"{reference}/swagger.json", params=params)
    got_response = httpx.get(f"{ours}/swagger.json", params=params)
    assert got_response.status_code == expected_response.status_code, name
    expected, got = expected_response.json(), got_response.json()
    if expected_response.status_code != 200:  # a version the decorators do not support
        assert got == expected
    elif key is None:
        assert got["definitions"] == expected["definitions"], name
    else:
        assert got["components"][key] == expected["components"][key], name
