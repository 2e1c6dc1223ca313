"""Keys from stack outputs and Secret files; access tokens and the azure-identity provider."""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml

from aksml.client import (
    AccessToken,
    AzureIdentityTokenProvider,
    Webservice,
    read_secret_keys,
    read_stack_outputs,
    scope_for,
)
from aksml.client.tokens import AZURE_EXTRA_MISSING
from aksml.errors import WebserviceException


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


# --- stack outputs ---------------------------------------------------------------------------


def test_flat_outputs_snake_and_camel_case() -> None:
    flat = {"scoring_uri": "http://h/api/v1/service/a/score", "primary_key": "p"}
    found = read_stack_outputs(flat)
    assert (found.scoring_uri, found.primary_key, found.secondary_key) == (
        "http://h/api/v1/service/a/score",
        "p",
        None,
    )
    camel = read_stack_outputs({"scoringUri": "u", "primaryKey": "p", "secondaryKey": "s"})
    assert (camel.scoring_uri, camel.primary_key, camel.secondary_key) == ("u", "p", "s")


def test_nested_outputs_are_found_or_selected() -> None:
    outputs = {"svc": {"scoring_uri": "u1", "primary_key": "k1"}, "other": 3}
    assert read_stack_outputs(outputs).scoring_uri == "u1"
    two = {"a": {"scoring_uri": "ua"}, "b": {"scoringUri": "ub"}}
    with pytest.raises(WebserviceException, match=r"several services \(a, b\)"):
        read_stack_outputs(two)
    assert read_stack_outputs(two, name="b").scoring_uri == "ub"
    with pytest.raises(WebserviceException, match="no object named 'c'"):
        read_stack_outputs(two, name="c")


def test_hidden_secret_outputs_explain_show_secrets() -> None:
    with pytest.raises(WebserviceException, match="--show-secrets"):
        read_stack_outputs({"scoring_uri": "u", "primary_key": "[secret]"})


def test_from_stack_outputs_file_rereads_keys_after_rotation(
    tmp_path: Path, server: Any, sleeps: Any
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"scoring_uri": server.url, "primary_key": "before"}))
    server.script(server.reply(200, 1), server.reply(401), server.reply(200, 2))
    with Webservice.from_stack_outputs(outputs, sleep=sleeps) as ws:
        assert ws.run("{}") == 1
        outputs.write_text(json.dumps({"scoring_uri": server.url, "primary_key": "after"}))
        assert ws.run("{}") == 2
        assert ws.get_keys() == ("after", None)
    assert [r.headers["authorization"] for r in server.seen] == [
        "Bearer before",
        "Bearer before",
        "Bearer after",
    ]


def test_from_stack_outputs_without_uri_reports_like_v1() -> None:
    ws = Webservice.from_stack_outputs({"primary_key": "p", "deployment_status": "Transitioning"})
    with pytest.raises(WebserviceException, match="Current State: Transitioning"):
        ws.run("{}")


def test_from_stack_outputs_token_audience() -> None:
    ws = Webservice.from_stack_outputs({"scoring_uri": "u", "token_audience": "api://svc"})
    assert ws.token_auth_enabled and not ws.auth_enabled
    assert ws.token_audience == "api://svc"


# --- Secret files ----------------------------------------------------------------------------


def test_secret_manifest_yaml_base64(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    path.write_text(
        yaml.safe_dump_all(
            [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "svc-keys"},
                    "data": {"primaryKey": _b64("p1"), "secondaryKey": _b64("s1")},
                },
            ]
        )
    )
    assert read_secret_keys(path) == ("p1", "s1")


def test_kubectl_json_list_and_string_data(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        "kind": "Secret",
                        "metadata": {"name": "a"},
                        "stringData": {"primaryKey": "A"},
                    },
                    {
                        "kind": "Secret",
                        "metadata": {"name": "b"},
                        "data": {"primaryKey": _b64("B")},
                    },
                    {"kind": "Secret", "metadata": {"name": "tls"}, "data": {"tls.crt": "eA=="}},
                ],
            }
        )
    )
    with pytest.raises(WebserviceException, match=r"several key Secrets \(a, b\)"):
        read_secret_keys(path)
    assert read_secret_keys(path, name="a") == ("A", None)
    assert read_secret_keys(path, name="b") == ("B", None)
    with pytest.raises(WebserviceException, match="no Secret named 'tls' with a 'primaryKey'"):
        read_secret_keys(path, name="tls")


def test_redacted_render_output_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret-svc-keys.yaml"
    path.write_text(
        yaml.safe_dump(
            {"kind": "Secret", "metadata": {"name": "k"}, "data": {"primaryKey": "<redacted>"}}
        )
    )
    with pytest.raises(WebserviceException, match="kubectl get secret"):
        read_secret_keys(path)


def test_bad_base64_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"kind": "Secret", "data": {"primaryKey": "***"}}))
    with pytest.raises(WebserviceException, match="not valid base64"):
        read_secret_keys(path)


def test_mounted_secret_directory(tmp_path: Path) -> None:
    (tmp_path / "primaryKey").write_text("mounted-p\n")
    assert read_secret_keys(tmp_path) == ("mounted-p", None)
    (tmp_path / "secondaryKey").write_text("mounted-s")
    ws = Webservice.from_secret("http://127.0.0.1:1/score", tmp_path)
    assert ws.get_keys() == ("mounted-p", "mounted-s")
    (tmp_path / "primaryKey").write_text("rotated")
    assert ws.get_keys() == ("rotated", "mounted-s")
    with pytest.raises(WebserviceException, match="has no 'primaryKey' file"):
        empty = tmp_path / "empty"
        empty.mkdir()
        read_secret_keys(empty)


def test_unreadable_file() -> None:
    with pytest.raises(WebserviceException, match="cannot read"):
        read_secret_keys("/nonexistent/secret.json")


# --- tokens ----------------------------------------------------------------------------------


def test_access_token_from_jwt_uses_exp() -> None:
    exp = int(dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp())
    raw = jwt.encode({"exp": exp, "aud": "x"}, "secret-for-test-only-32-bytes-long!", "HS256")
    token = AccessToken.from_string(raw)
    assert token.expiry_on == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert token.refresh_after == dt.datetime(2029, 12, 31, 23, 55, tzinfo=dt.UTC)
    assert token.token_type == "Bearer"
    opaque = AccessToken.from_string("opaque")
    assert opaque.expiry_on.tzinfo is not None and not opaque.needs_refresh()
    assert set(token.serialize()) == {"accessToken", "tokenType", "refreshAfter", "expiryOn"}


def test_scope_for() -> None:
    assert scope_for("api://svc") == "api://svc/.default"
    assert scope_for("https://ml.azure.com/") == "https://ml.azure.com/.default"
    assert scope_for("api://svc/.default") == "api://svc/.default"
    with pytest.raises(WebserviceException):
        scope_for(" ")


class _Info:
    def __init__(self, token: str, expires_on: int, refresh_on: int | None) -> None:
        self.token = token
        self.expires_on = expires_on
        self.refresh_on = refresh_on
        self.token_type = "Bearer"


class FakeCredential:
    """Implements azure.core's SupportsTokenInfo protocol (what azure-identity credentials do)."""

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token_info(self, *scopes: str, options: Any = None) -> _Info:
        self.scopes.extend(scopes)
        return _Info("entra-token", 1_900_000_000, 1_899_990_000)


def test_azure_identity_provider_with_a_credential(server: Any, sleeps: Any) -> None:
    credential = FakeCredential()
    provider = AzureIdentityTokenProvider("api://aksml-svc", credential=credential)  # type: ignore[arg-type]
    token = provider()
    assert credential.scopes == ["api://aksml-svc/.default"]
    assert token.access_token == "entra-token"
    assert token.expiry_on == dt.datetime.fromtimestamp(1_900_000_000, dt.UTC)
    assert token.refresh_after == dt.datetime.fromtimestamp(1_899_990_000, dt.UTC)
    assert token.expiry_on.tzinfo is dt.UTC
    with Webservice(server.url, token_provider=provider, sleep=sleeps) as ws:
        ws.run("{}")
    assert server.seen[0].headers["authorization"] == "Bearer entra-token"


def test_azure_identity_errors_become_one_line() -> None:
    class Broken:
        def get_token_info(self, *scopes: str, options: Any = None) -> _Info:
            raise RuntimeError("DefaultAzureCredential failed to retrieve a token\nmore detail")

    provider = AzureIdentityTokenProvider("api://x", credential=Broken())  # type: ignore[arg-type]
    with pytest.raises(WebserviceException) as info:
        provider()
    assert info.value.message == (
        "Error, could not get a token for scope api://x/.default: "
        "DefaultAzureCredential failed to retrieve a token"
    )


def test_missing_azure_extra_has_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    ws = Webservice("http://127.0.0.1:1/score", token_audience="api://x")
    with pytest.raises(WebserviceException) as info:
        ws.get_access_token()
    assert info.value.message == AZURE_EXTRA_MISSING
    assert "aksml[azure]" in AZURE_EXTRA_MISSING
