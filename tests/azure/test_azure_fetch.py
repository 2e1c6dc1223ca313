"""The init-container blob fetcher against a local fake of Entra ID and the Blob service
(real HTTP on 127.0.0.1, real files, and once as a real ``python -m`` process)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aksml.azure import fetch

TOKEN = "storage-token-1"
ASSERTION = "projected.sa.jwt"
BLOBS = {
    "churn/2/model.pkl": b"pickle-bytes",
    "churn/2/sub/vocab.txt": b"a b c",
    "churn/2/sub/deep/x y.bin": b"\x00\x01",
    "churn/3/other.pkl": b"not me",
}


class FakeAzure(ThreadingHTTPServer):
    """Token endpoint + one 'models' container; pages listings two names at a time."""

    blobs: dict[str, bytes]
    requests: list[tuple[str, str, dict[str, str]]]
    sas: str | None = None


class Handler(BaseHTTPRequestHandler):
    server: FakeAzure

    def log_message(self, *args: Any) -> None:
        return

    def _send(self, code: int, body: bytes, ctype: str = "application/xml") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        self.server.requests.append(("POST", self.path, form))
        ok = (
            self.path == "/tenant-1/oauth2/v2.0/token"
            and form.get("client_assertion") == ASSERTION
            and form.get("client_id") == "client-1"
            and form.get("scope") == "https://storage.azure.com/.default"
            and form.get("grant_type") == "client_credentials"
        )
        if not ok:
            self._send(401, b'{"error":"invalid_client"}', "application/json")
            return
        self._send(200, f'{{"access_token":"{TOKEN}"}}'.encode(), "application/json")

    def _authorized(self, query: dict[str, str]) -> bool:
        if self.server.sas is not None:
            return query.get("sig") == self.server.sas
        return self.headers.get("Authorization") == f"Bearer {TOKEN}" and bool(
            self.headers.get("x-ms-version")
        )

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        self.server.requests.append(("GET", self.path, dict(self.headers)))
        if not self._authorized(query):
            self._send(403, b"<Error><Code>AuthorizationFailure</Code></Error>")
            return
        if parts.path == "/models" and query.get("comp") == "list":
            if self.server.sas is not None:  # a blob SAS cannot list
                self._send(403, b"<Error><Code>AuthorizationPermissionMismatch</Code></Error>")
                return
            names = sorted(n for n in self.server.blobs if n.startswith(query.get("prefix", "")))
            start = int(query.get("marker") or 0)
            page = names[start : start + 2]
            marker = str(start + 2) if start + 2 < len(names) else ""
            items = "".join(f"<Blob><Name>{n}</Name></Blob>" for n in page)
            body = f"<EnumerationResults><Blobs>{items}</Blobs><NextMarker>{marker}</NextMarker>"
            self._send(200, (body + "</EnumerationResults>").encode())
            return
        name = urllib.parse.unquote(parts.path.removeprefix("/models/"))
        if parts.path.startswith("/models/") and name in self.server.blobs:
            self._send(200, self.server.blobs[name], "application/octet-stream")
            return
        self._send(404, b"<Error><Code>BlobNotFound</Code></Error>")


@pytest.fixture
def azure() -> Iterator[FakeAzure]:
    server = FakeAzure(("127.0.0.1", 0), Handler)
    server.blobs = dict(BLOBS)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _base(server: FakeAzure) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _env(server: FakeAzure, tmp_path: Path) -> dict[str, str]:
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(ASSERTION + "\n")
    return {
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
        "AZURE_CLIENT_ID": "client-1",
        "AZURE_TENANT_ID": "tenant-1",
        "AZURE_AUTHORITY_HOST": _base(server) + "/",
    }


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_folder_with_workload_identity(azure: FakeAzure, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "churn" / "2"
    code = fetch.main([str(dest), f"{_base(azure)}/models/churn/2"], _env(azure, tmp_path))
    assert code == 0
    assert _tree(dest) == {
        "model.pkl": b"pickle-bytes",
        "sub/vocab.txt": b"a b c",
        "sub/deep/x y.bin": b"\x00\x01",
    }
    posts = [r for r in azure.requests if r[0] == "POST"]
    assert len(posts) == 1 and posts[0][2]["client_assertion_type"] == fetch.CLIENT_ASSERTION_TYPE
    lists = [r[1] for r in azure.requests if "comp=list" in r[1]]
    assert len(lists) == 2  # two pages
    assert all(r[2].get("Authorization") == f"Bearer {TOKEN}" for r in azure.requests[1:])


def test_single_blob_with_sas_falls_back_to_one_get(azure: FakeAzure, tmp_path: Path) -> None:
    azure.sas = "s3cret"
    dest = tmp_path / "m"
    url = f"{_base(azure)}/models/churn/2/model.pkl?sv=2023-11-03&sig=s3cret"
    assert fetch.main([str(dest), url], {}) == 0
    assert _tree(dest) == {"model.pkl": b"pickle-bytes"}
    assert not [r for r in azure.requests if r[0] == "POST"]


def test_blob_names_cannot_escape_the_destination(azure: FakeAzure, tmp_path: Path) -> None:
    azure.blobs["evil/../../x"] = b"x"
    code = fetch.main([str(tmp_path / "d"), f"{_base(azure)}/models/evil"], _env(azure, tmp_path))
    assert code == 1
    assert not (tmp_path / "x").exists()


def test_failed_token_exchange_and_missing_blob_exit_1(
    azure: FakeAzure, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(azure, tmp_path)
    env["AZURE_CLIENT_ID"] = "someone-else"
    assert fetch.main([str(tmp_path), f"{_base(azure)}/models/churn/2"], env) == 1
    assert "token exchange failed: HTTP 401" in capsys.readouterr().err
    env = _env(azure, tmp_path)
    assert fetch.main([str(tmp_path), f"{_base(azure)}/models/nothing"], env) == 1
    assert "HTTP 404" in capsys.readouterr().err


def test_usage_and_url_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch.main([], {}) == 2
    assert fetch.main(["only-dest"], {}) == 2
    assert "usage:" in capsys.readouterr().err
    with pytest.raises(fetch.FetchError, match="not a blob URL"):
        fetch.parse_blob_url("https://acct.blob.core.windows.net/")
    loc = fetch.parse_blob_url("https://a.blob.core.windows.net/models/m/1/my%20f?sig=x")
    assert loc == fetch.BlobLocation("https://a.blob.core.windows.net/models", "m/1/my f", "sig=x")
    incomplete = {"AZURE_FEDERATED_TOKEN_FILE": "/nonexistent"}
    with pytest.raises(fetch.FetchError, match="AZURE_CLIENT_ID, AZURE_TENANT_ID not set"):
        fetch.workload_identity_token(incomplete)


def test_runs_as_a_module_in_a_real_process(azure: FakeAzure, tmp_path: Path) -> None:
    dest = tmp_path / "models"
    env = {**os.environ, **_env(azure, tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "aksml.azure.fetch", str(dest), f"{_base(azure)}/models/churn/3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "fetched churn/3/other.pkl (6 bytes)" in result.stdout
    assert _tree(dest) == {"other.pkl": b"not me"}
    assert "pulumi" not in result.stderr
