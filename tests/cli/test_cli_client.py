"""``aksml run``, ``aksml keys`` and ``aksml token`` against a scripted loopback server."""

from __future__ import annotations

import base64
import importlib.util
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aksml.cli import app

_path = Path(__file__).resolve().parents[1] / "client" / "conftest.py"
_spec = importlib.util.spec_from_file_location("aksml_tests_cli_scripted_server", _path)
assert _spec is not None and _spec.loader is not None
_scripted = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _scripted
_spec.loader.exec_module(_scripted)

AKSML = str(Path(sys.executable).parent / "aksml")


@pytest.fixture
def server() -> Iterator[Any]:
    srv = _scripted.ScriptedServer()
    try:
        yield srv
    finally:
        srv.close()


def invoke(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input)


def test_run_prints_the_response(server: Any) -> None:
    server.script(server.reply(200, {"predictions": [1, 0]}))
    result = invoke("run", "--scoring-uri", server.url, "--key", "k1", "--data", '{"data": [1]}')
    assert result.exit_code == 0, result.stderr
    assert result.stdout == '{\n  "predictions": [\n    1,\n    0\n  ]\n}\n'
    assert server.seen[0].body == b'{"data": [1]}'
    assert server.seen[0].headers["authorization"] == "Bearer k1"


def test_run_data_from_file_stdin_and_outputs(server: Any, tmp_path: Path) -> None:
    server.script(server.reply(200, "ok"))
    body = tmp_path / "req.json"
    body.write_text('{"from": "file"}')
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"svc": {"scoring_uri": server.url, "primary_key": "pk"}}))
    assert invoke("run", "--outputs", str(outputs), "--data", f"@{body}").exit_code == 0
    assert (
        invoke("run", "--outputs", str(outputs), "-d", "@-", input='{"from": "stdin"}').exit_code
        == 0
    )
    assert [s.body for s in server.seen] == [b'{"from": "file"}', b'{"from": "stdin"}']
    assert {s.headers["authorization"] for s in server.seen} == {"Bearer pk"}


def test_run_keys_from_a_secret_file(server: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    encoded = base64.b64encode(b"from-secret").decode()
    secret.write_text(json.dumps({"kind": "Secret", "data": {"primaryKey": encoded}}))
    result = invoke("run", "--scoring-uri", server.url, "--secret", str(secret), "-d", "{}")
    assert result.exit_code == 0, result.stderr
    assert server.seen[0].headers["authorization"] == "Bearer from-secret"


def test_run_service_error_exits_1_with_one_line(server: Any) -> None:
    server.script(server.reply(400, {"message": "POST body is empty."}, {"x-request-id": "r-1"}))
    result = invoke("run", "--scoring-uri", server.url, "-d", "{}")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: service returned 400 (request id r-1) after 1 attempt(s): POST body is empty.\n"
    )


def test_run_retries_flag(server: Any) -> None:
    server.script(server.reply(503, None, {"Retry-After": "0"}), server.reply(200, 7))
    assert invoke("run", "--scoring-uri", server.url, "-d", "{}", "--retries", "0").exit_code == 1
    server.script(server.reply(503, None, {"Retry-After": "0"}), server.reply(200, 7))
    result = invoke("run", "--scoring-uri", server.url, "-d", "{}", "--retries", "1")
    assert (result.exit_code, result.stdout) == (0, "7\n")


def test_run_unreachable_exits_1() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = invoke(
        "run", "--scoring-uri", f"http://127.0.0.1:{port}/score", "-d", "{}", "--retries", "0"
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: Error attempting to call webservice at ")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-d", "{}"], "error: give --scoring-uri or --outputs\n"),
        (
            ["--scoring-uri", "http://127.0.0.1:9/s", "-d", "{not json"],
            "error: --data is not valid JSON",
        ),
        (
            ["--scoring-uri", "http://127.0.0.1:9/s", "-d", "@/nonexistent.json"],
            "error: cannot read --data file",
        ),
        (
            [
                "--scoring-uri",
                "http://127.0.0.1:9/s",
                "--key",
                "k",
                "--token-audience",
                "api://a",
                "-d",
                "{}",
            ],
            "error: use only one of --key, --token-audience\n",
        ),
    ],
)
def test_run_user_errors_exit_2(args: list[str], message: str) -> None:
    result = invoke("run", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


def test_keys_from_outputs_and_secret(tmp_path: Path) -> None:
    outputs = tmp_path / "o.json"
    outputs.write_text(json.dumps({"scoringUri": "u", "primaryKey": "p", "secondaryKey": "s"}))
    result = invoke("keys", "--from-outputs", str(outputs))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"primaryKey": "p", "secondaryKey": "s"}
    mounted = tmp_path / "keys"
    mounted.mkdir()
    (mounted / "primaryKey").write_text("mp")
    result = invoke("keys", "--from-secret", str(mounted))
    assert json.loads(result.stdout) == {"primaryKey": "mp", "secondaryKey": None}


def test_keys_user_errors(tmp_path: Path) -> None:
    redacted = tmp_path / "secret-svc.yaml"
    redacted.write_text("kind: Secret\nmetadata: {name: svc}\ndata: {primaryKey: <redacted>}\n")
    result = invoke("keys", "--from-secret", str(redacted))
    assert result.exit_code == 2
    assert "kubectl get secret" in result.stderr and result.stderr.count("\n") == 1
    assert invoke("keys").exit_code == 2
    no_key = tmp_path / "o.json"
    no_key.write_text('{"scoring_uri": "u"}')
    result = invoke("keys", "--from-outputs", str(no_key))
    assert (result.exit_code, result.stderr.count("\n")) == (2, 1)


def test_token_prints_v1_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    from aksml.client import tokens

    class Info:
        token, expires_on, refresh_on, token_type = "tok", 1_900_000_000, 1_899_996_400, "Bearer"

    class Credential:
        def get_token_info(self, *scopes: str, options: Any = None) -> Info:
            assert scopes == ("api://svc/.default",)
            return Info()

    monkeypatch.setattr(
        tokens.AzureIdentityTokenProvider, "_get_credential", lambda self: Credential()
    )
    result = invoke("token", "--audience", "api://svc")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "accessToken": "tok",
        "tokenType": "Bearer",
        "refreshAfter": "2030-03-17T16:46:40+00:00",
        "expiryOn": "2030-03-17T17:46:40+00:00",
    }


_FAILING_CREDENTIAL = """
import logging, sys
from aksml.client import tokens

class Credential:
    def get_token_info(self, *scopes, options=None):
        logging.getLogger("azure.identity._credentials.chained").warning(
            "DefaultAzureCredential failed.\\nAttempted credentials:\\n\\tAzureCliCredential: no"
        )
        raise RuntimeError("DefaultAzureCredential failed to retrieve a token.")

tokens.AzureIdentityTokenProvider._get_credential = lambda self: Credential()
from aksml.cli import main
sys.argv = ["aksml", "token", "--audience", "api://svc"]
main()
"""


def test_token_failure_is_one_line() -> None:
    """azure-identity logs each failed credential of its chain as a warning (on stderr when
    logging is not configured); the command keeps those off and reports one error line."""
    done = subprocess.run(
        [sys.executable, "-c", _FAILING_CREDENTIAL], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: Error, could not get a token for scope api://svc/.default: "
        "DefaultAzureCredential failed to retrieve a token.\n"
    )


def test_console_script_is_plain_when_piped(server: Any) -> None:
    server.script(server.reply(200, {"a": [1]}))
    done = subprocess.run(
        [AKSML, "run", "--scoring-uri", server.url, "--data", "[1]"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, '{\n  "a": [\n    1\n  ]\n}\n', "")
    bad = subprocess.run([AKSML, "run", "-d", "{}"], capture_output=True, text=True, timeout=60)
    assert (bad.returncode, bad.stderr) == (2, "error: give --scoring-uri or --outputs\n")
