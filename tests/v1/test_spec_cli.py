"""``aksml config show``: the real console script, piped output, --json and user errors."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart" / "deploymentconfig.json"


def _aksml(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("aksml", path=str(Path(sys.executable).parent))
    assert exe is not None, "the aksml console script is installed in the venv"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_show_quickstart_plain_lines() -> None:
    result = _aksml("config", "show", str(QUICKSTART))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "kind: AksWebservice"
    assert "autoscale_enabled: true" in lines
    assert "auth_enabled: true" in lines
    assert "namespace: aksml-quickstart" in lines
    assert "gpu_cores: 0" in lines
    assert all(": " in line for line in lines)


def test_show_json() -> None:
    result = _aksml("config", "show", "--json", str(QUICKSTART))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "AksWebservice" and data["cpu_cores"] == 0.5
    assert data["timeout_seconds"] == 2


def test_show_endpoint_yaml(tmp_path: Path) -> None:
    path = tmp_path / "endpoint.yaml"
    path.write_text("computeType: AKSENDPOINT\nversionName: blue\ntrafficPercentile: 20\n")
    result = _aksml("config", "show", str(path))
    assert result.returncode == 0, result.stderr
    assert "version_name: blue" in result.stdout.splitlines()
    assert "traffic_percentile: 20.0" in result.stdout.splitlines()


def test_bad_file_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "dc.json"
    path.write_text(json.dumps({"computeType": "aks", "autoScaler": {"minReplicas": 2}}))
    result = _aksml("config", "show", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "error: Invalid configuration, autoscale_min_replicas provided without enabling "
        "autoscaling.\n"
    )
    missing = _aksml("config", "show", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
    assert "Traceback" not in missing.stderr


def test_show_on_a_terminal_prints_a_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from aksml.cli.config import show

    output = io.StringIO()
    monkeypatch.setattr(sys, "stdout", output)
    monkeypatch.setattr(output, "isatty", lambda: True, raising=False)
    show(QUICKSTART, as_json=False)
    text = output.getvalue()
    assert "parameter" in text and "autoscale_max_replicas" in text and "aksml-quickstart" in text
