"""``aksml render`` end to end: a real subprocess, real files, one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def aksml(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from aksml.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_render_config_file(tmp_path: Path) -> None:
    config = tmp_path / "iris-svc.json"
    config.write_text(
        json.dumps(
            {
                "computeType": "aks",
                "numReplicas": 2,
                "containerResourceRequirements": {"cpu": 0.5, "memoryInGB": 0.5},
            }
        )
    )
    (tmp_path / "score.py").write_text("def init():\n    pass\n\ndef run(raw):\n    return raw\n")
    out = tmp_path / "out"
    result = aksml("render", str(config), "--entry-script", "score.py", "-o", str(out))
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == [
        "configmap-iris-svc-code-" + files[0].removeprefix("configmap-iris-svc-code-"),
        "deployment-iris-svc.yaml",
        "networkpolicy-iris-svc.yaml",
        "poddisruptionbudget-iris-svc.yaml",
        "secret-iris-svc-keys.yaml",
        "service-iris-svc.yaml",
    ]
    deployment = yaml.safe_load((out / "deployment-iris-svc.yaml").read_text())
    assert deployment["spec"]["replicas"] == 2
    resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert "Deployment\tiris-svc\tdefault\tdeployment-iris-svc.yaml" in result.stdout
    assert "6 objects written" in result.stdout


def test_render_is_byte_identical_across_runs(tmp_path: Path) -> None:
    for run in ("a", "b"):
        result = aksml("render", "examples/ingress", "-o", str(tmp_path / run))
        assert result.returncode == 0, result.stderr
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    assert a == b and len(a) == 10


def test_invalid_config_is_one_line_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(
        json.dumps({"computeType": "aks", "containerResourceRequirements": {"cpu": -1}})
    )
    result = aksml("render", str(config), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: Invalid configuration, cpu_cores must be greater than zero."
    )
    assert "Traceback" not in result.stderr


def test_missing_source_is_one_line_exit_2(tmp_path: Path) -> None:
    result = aksml("render", str(tmp_path / "nope"), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "does not exist" in result.stderr


def test_program_with_bad_exposure_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text(
        "import aksml\naksml.AksWebservice('svc', {'exposure': 'nodeport'})\n"
    )
    result = aksml("render", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: Error, unknown exposure 'nodeport'; allowed values: 'cluster', "
        "'load_balancer', 'ingress', 'gateway'."
    )


def test_program_raising_anything_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text("import pulumi\npulumi.Config().require('missing')\n")
    result = aksml("render", str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: rendering ") and "missing" in lines[0]


def test_usage_errors_are_one_line() -> None:
    """Unknown options and missing arguments: one line naming --help, exit 2, no usage box."""
    for args, expected in (
        (("render",), "Missing argument 'source' (see 'aksml render --help')"),
        (("config", "show", "x.json", "--bogus"), "No such option: --bogus"),
        (("run", "--bogus"), "(see 'aksml run --help')"),
    ):
        result = aksml(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("error: ") and expected in lines[0], (args, lines)
    assert aksml("--help").returncode == 0
