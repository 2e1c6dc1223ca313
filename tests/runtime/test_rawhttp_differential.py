"""Differential test: the same ``@rawhttp`` score.py served by azureml-inference-server-http
1.5.1 (its own virtualenv, made by ``bench/setup_reference.sh``) and by ``aksml serve``; every
request must give the same status, body, content type, run-failed flag and script headers.

The intended differences: a script's 500 is sent as 502 by aksml (azureml-fe's rewrite), and a
JSON body is compared as a JSON value (aksml encodes with orjson: no spaces after separators).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from reference_server import running_reference

SCRIPT = Path(__file__).parent / "scripts" / "rawhttp.py"

_SERVER_OWNED = frozenset(
    {
        "date",
        "server",
        "connection",
        "content-length",
        "x-ms-server-version",
        "x-request-id",
        "x-ms-request-id",
        "x-ms-run-fn-exec-ms",
    }
)


class Case(NamedTuple):
    """One request sent to both servers."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


CASES = [
    Case("GET", "/score", [], b""),
    Case("GET", "/score?a=1&b=[1,2]&c=x&c=y", [], b""),
    Case("POST", "/score", [("Content-Type", "text/plain")], "héllo".encode()),
    Case("POST", "/score", [], b""),
    Case("POST", "/score?do=fail", [], b"x"),
    Case("POST", "/score?do=unavailable", [], b"x"),
    Case("POST", "/score?do=raise", [], b"x"),
    Case("POST", "/score?do=value", [("Content-Type", "application/json")], b'{"a": 1}'),
    Case("POST", "/score?do=none", [], b""),
    Case(
        "POST",
        "/score?do=headers",
        [("X-A", "1"), ("X-A", "2"), ("x_dropped", "3"), ("Authorization", "Bearer k")],
        b"x",
    ),
    Case("POST", "/score?do=request_headers", [("X-Q", "1"), ("X-Q", "2")], b""),
    Case(
        "POST",
        "/score?do=form",
        [("Content-Type", "application/x-www-form-urlencoded")],
        b"a=1&b=%C3%A9",
    ),
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """azmlinfsrv 1.5.1 serving rawhttp.py on 127.0.0.1 (its base URL)."""
    with running_reference(SCRIPT, tmp_path_factory.mktemp("azmlinfsrv")) as url:
        yield url


@pytest.fixture(scope="module")
def ours(start_server_fn: Callable[..., Any]) -> Iterator[str]:
    """aksml serve (thread mode) serving rawhttp.py (its base URL)."""
    server = start_server_fn(["--entry-script", str(SCRIPT), "--worker-mode", "thread"])
    server.wait_ready()
    yield server.url
    assert server.stop() == 0


def _send(base: str, case: Case) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=10.0) as client:
        return client.request(case.method, case.path, headers=case.headers, content=case.body)


def _script_headers(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.multi_items() if k not in _SERVER_OWNED)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.method} {c.path}" for c in CASES])
def test_same_response_as_the_reference(reference: str, ours: str, case: Case) -> None:
    expected = _send(reference, case)
    got = _send(ours, case)
    assert got.status_code == (502 if expected.status_code == 500 else expected.status_code)
    want = expected.content.replace(reference.encode(), ours.encode())
    if expected.headers.get("content-type") == "application/json":
        # run()'s value is encoded by orjson: the same JSON value, maybe other bytes
        # (docs/runtime.md, "JSON encoding")
        assert json.loads(got.content) == json.loads(want)
    else:
        assert got.content == want
    assert _script_headers(got) == _script_headers(expected)
    assert got.headers.get_list("x-ms-run-function-failed") == expected.headers.get_list(
        "x-ms-run-function-failed"
    )
