"""Azure Blob sink: naming and batching against an in-memory container, then real HTTP against
Azurite (the Azure Storage emulator, npm package ``azurite``) on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aksml.errors import WebserviceException
from aksml.runtime.datacollect import DataCollector, ModelRef
from aksml.runtime.datacollect_blob import (
    BLOCK_BYTES,
    BlobSink,
    blob_sink_from_url,
    split_container_url,
)

AT = datetime(2026, 11, 25, 3, 40, tzinfo=UTC).timestamp()
# Azurite's built-in development account (public, documented emulator constants)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_DIR = Path.home() / ".cache" / "aksml-azurite"


class FakeBlob:
    """Records calls like an append blob would apply them."""

    def __init__(self, store: dict[str, bytearray], name: str, calls: list[tuple[str, Any]]):
        self.store, self.name, self.calls = store, name, calls

    def create_append_blob(self, **kwargs: Any) -> None:
        from azure.core.exceptions import ResourceExistsError

        self.calls.append(("create", self.name))
        if self.name in self.store:
            raise ResourceExistsError("exists")
        self.store[self.name] = bytearray()

    def append_block(self, data: bytes, **kwargs: Any) -> None:
        self.calls.append(("append", len(data)))
        self.store[self.name] += data


class FakeContainer:
    """An in-memory stand-in for ``ContainerClient``."""

    def __init__(self) -> None:
        self.store: dict[str, bytearray] = {}
        self.calls: list[tuple[str, Any]] = []
        self.closed = False

    def get_blob_client(self, blob: str) -> FakeBlob:
        return FakeBlob(self.store, blob, self.calls)

    def close(self) -> None:
        self.closed = True


def test_split_container_url_keeps_query_and_prefix() -> None:
    assert split_container_url("https://acct.blob.core.windows.net/data/mdc/prod?sv=1&sig=x") == (
        "https://acct.blob.core.windows.net/data?sv=1&sig=x",
        "mdc/prod/",
    )
    assert split_container_url("https://acct.blob.core.windows.net/data") == (
        "https://acct.blob.core.windows.net/data",
        "",
    )
    assert split_container_url("http://127.0.0.1:10000/devstoreaccount1/data") == (
        "http://127.0.0.1:10000/devstoreaccount1/data",
        "",
    )
    with pytest.raises(WebserviceException, match="expected https://<account>"):
        split_container_url("https://acct.blob.core.windows.net/?sig=secret")
    try:
        split_container_url("https://acct.blob.core.windows.net/?sig=secret")
    except WebserviceException as exc:
        assert "secret" not in exc.message


def test_blob_sink_creates_once_appends_in_blocks_and_never_overwrites() -> None:
    container = FakeContainer()
    container.store["mdc/existing.jsonl"] = bytearray(b"old\n")
    sink = BlobSink(container, prefix="mdc/")
    sink.append("existing.jsonl", b"new\n")
    sink.append("a.jsonl", b"x" * (BLOCK_BYTES + 5))
    sink.append("a.jsonl", b"y\n")
    sink.close()
    assert container.store["mdc/existing.jsonl"] == b"old\nnew\n"
    assert container.store["mdc/a.jsonl"] == b"x" * (BLOCK_BYTES + 5) + b"y\n"
    assert container.calls == [
        ("create", "mdc/existing.jsonl"),
        ("append", 4),
        ("create", "mdc/a.jsonl"),
        ("append", BLOCK_BYTES),
        ("append", 5),
        ("append", 2),
    ]
    assert container.closed


def test_one_append_per_partition_file_per_flush() -> None:
    container = FakeContainer()
    collector = DataCollector(
        BlobSink(container), service="svc", models=(ModelRef("m", "1"),), writer_id="w"
    )
    for i in range(50):
        collector.offer(f"r{i}", b"[1]", b"[2]", 200, at=AT)
    collector.flush()
    appends = [c for c in container.calls if c[0] == "append"]
    assert len(appends) == 2
    assert sorted(container.store) == [
        "svc/m/1/inputs/2026/11/25/data-03-w.jsonl",
        "svc/m/1/predictions/2026/11/25/data-03-w.jsonl",
    ]
    assert container.store["svc/m/1/inputs/2026/11/25/data-03-w.jsonl"].count(b"\n") == 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _azurite_binary() -> str:
    found = shutil.which("azurite-blob")
    if found:
        return found
    cached = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
    if not cached.exists():
        npm = shutil.which("npm")
        assert npm, "Azurite tests need Node.js/npm (.ci/run installs them)"
        subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(AZURITE_DIR),
                "azurite@3.37.0",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return str(cached)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Azurite blob service on 127.0.0.1; yields its blob endpoint."""
    binary = _azurite_binary()
    port = _free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    proc = subprocess.Popen(
        [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(workdir),
            "--silent",
            "--skipApiVersionCheck",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "Azurite did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:  # Azurite waits for idle keep-alive connections
            proc.kill()
            proc.wait(5)


def test_blob_sink_against_azurite(azurite: str) -> None:
    from azure.storage.blob import (
        BlobServiceClient,
        ContainerSasPermissions,
        generate_container_sas,
    )

    service = BlobServiceClient(azurite, credential=AZURITE_KEY)
    service.create_container("modeldata")
    sas = generate_container_sas(
        AZURITE_ACCOUNT,
        "modeldata",
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, write=True, create=True, add=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    sink = blob_sink_from_url(f"{azurite}/modeldata/prod?{sas}")
    assert "sig=" not in sink.describe()
    collector = DataCollector(sink, service="svc", models=(ModelRef("iris", "3"),), writer_id="w")
    for i in range(20):
        collector.offer(f"r{i}", b'{"x": %d}' % i, b"[0]", 200, at=AT)
    collector.flush()
    for i in range(20, 25):
        collector.offer(f"r{i}", b'{"x": %d}' % i, b"[0]", 200, at=AT)
    collector.close()

    # a restarted writer appends to the same blob instead of replacing it
    again = blob_sink_from_url(f"{azurite}/modeldata/prod?{sas}")
    again.append("svc/iris/3/inputs/2026/11/25/data-03-w.jsonl", b'{"requestId":"after"}\n')
    again.close()

    container = service.get_container_client("modeldata")
    names = sorted(b.name for b in container.list_blobs())
    assert names == [
        "prod/svc/iris/3/inputs/2026/11/25/data-03-w.jsonl",
        "prod/svc/iris/3/predictions/2026/11/25/data-03-w.jsonl",
    ]
    props = container.get_blob_client(names[0]).get_blob_properties()
    assert props.blob_type == "AppendBlob"
    assert props.content_settings.content_type == "application/x-ndjson"
    body = container.download_blob(names[0]).readall().decode()
    ids = [line.split('"requestId":"')[1].split('"')[0] for line in body.splitlines()]
    assert ids == [f"r{i}" for i in range(25)] + ["after"]
    assert collector.stats.batches == 4
    assert collector.stats.dropped == {"buffer_full": 0, "sink_error": 0, "closed": 0}


def test_blob_sink_without_sas_uses_default_credential() -> None:
    sink = blob_sink_from_url("https://acct.blob.core.windows.net/data")
    try:
        from azure.identity import DefaultAzureCredential

        credential = sink.container.credential  # type: ignore[attr-defined]
        assert isinstance(credential, DefaultAzureCredential)
    finally:
        sink.close()
