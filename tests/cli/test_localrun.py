"""``aksml serve <program-dir>``: the quickstart runs locally from its rendered pod."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from aksml import contract as c

ROOT = Path(__file__).resolve().parents[2]


def _request(url: str, body: bytes | None = None, key: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    req = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_serve_program_runs_quickstart_locally() -> None:
    cmd = [sys.executable, "-c", "from aksml.cli import main; main()", "serve"]
    proc = subprocess.Popen(
        [*cmd, str(ROOT / "examples" / "quickstart")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    try:
        row: list[str] = []
        output: list[str] = []
        while not row:
            line = lines.get(timeout=60)
            output.append(line)
            if line.startswith("iris\t"):
                row = line.rstrip("\n").split("\t")
        _name, uri, keys_dir = row
        assert uri.startswith("http://127.0.0.1:")
        assert uri.endswith(c.AML_PATH_PREFIX.format(name="iris") + c.SCORE_PATH)
        key = (Path(keys_dir) / "primaryKey").read_text().strip()
        assert key and key != "<generated>" and key not in "".join(output)
        body = json.dumps({"data": [[5.1, 3.5, 1.4, 0.2]]}).encode()
        assert _request(uri, body)[0] == 401
        status, answer = _request(uri, body, key)
        assert status == 200, answer
        assert "setosa" in answer.decode()
        secondary = (Path(keys_dir) / "secondaryKey").read_text().strip()
        assert _request(uri, body, secondary)[0] == 200
        base = uri.split("/api/")[0]
        deployment = ROOT / "tests" / "golden" / "quickstart" / "deployment-iris.yaml"
        probes = deployment.read_text()
        for path in (c.LIVENESS_PATH, c.READINESS_PATH):
            assert f"path: {path}\n" in probes
            assert _request(base + path)[0] == 200
        while True:
            line = lines.get(timeout=10)
            if line.startswith("note: iris: init container"):
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_program_bad_dir_is_one_line(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "from aksml.cli import main; main()", "serve"]
    res = subprocess.run([*cmd, str(tmp_path / "nope")], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("error:")


@pytest.mark.parametrize("value", ["/var/azureml-app", "/var/azureml-app/app/score.py"])
def test_paths_under_or_above_mounts_are_rewritten(tmp_path: Path, value: str) -> None:
    from aksml.offline.localrun import _local_path

    mounts = {"/var/azureml-app/app": tmp_path / "var/azureml-app/app"}
    assert _local_path(value, mounts, tmp_path) == str(tmp_path / value.lstrip("/"))
    assert _local_path("/elsewhere", mounts, tmp_path) == "/elsewhere"
    assert _local_path("app/score.py", mounts, tmp_path) == "app/score.py"


def test_prepare_resolves_refs_and_generates_keys(tmp_path: Path) -> None:
    from aksml.offline.localrun import prepare

    pod = {
        "initContainers": [{"name": "fetch-model", "command": ["sh", "-c", "x"]}],
        "containers": [
            {"name": "sidecar", "command": ["envoy"]},
            {
                "name": "runtime",
                "command": ["aksml"],
                "args": ["serve"],
                "env": [
                    {
                        "name": "K",
                        "valueFrom": {"secretKeyRef": {"name": "s", "key": "primaryKey"}},
                    },
                    {"name": "T", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "t"}}},
                    {"name": "AML_APP_ROOT", "value": "/app"},
                ],
                "volumeMounts": [
                    {"name": "code", "mountPath": "/app/src"},
                    {"name": "keys", "mountPath": "/keys"},
                    {"name": "models", "mountPath": "/models"},
                ],
            },
        ],
        "volumes": [
            {"name": "code", "configMap": {"name": "cm"}},
            {"name": "keys", "secret": {"secretName": "s"}},
            {"name": "models", "persistentVolumeClaim": {"claimName": "m"}},
        ],
    }
    objs = [
        {"kind": "Secret", "metadata": {"name": "s"}, "stringData": {"primaryKey": "<generated>"}},
        {"kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"t": "v", "score.py": "x=1"}},
        {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": pod}}},
    ]
    (svc,) = prepare(objs, tmp_path)
    assert svc.name == svc.deployment == "d"
    assert svc.keys_dir is not None
    key = (svc.keys_dir / "primaryKey").read_text()
    assert svc.env["K"] == key != "<generated>"
    assert svc.env["T"] == "v"
    assert Path(svc.env["AML_APP_ROOT"], "src", "score.py").read_text() == "x=1"
    assert any("fetch-model" in n for n in svc.notes)
    assert any("persistentVolumeClaim" in n for n in svc.notes)
