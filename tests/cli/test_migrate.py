"""``aksml migrate``: v1 JSON -> config file (+ program), round trip through aksml.v1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aksml.cli import app
from aksml.offline.migrate import main_py, migrate
from aksml.v1 import from_aml_json, load_config

FIXTURES = Path(__file__).parent / "fixtures"
SERIALIZED = FIXTURES / "v1_service_serialize.json"
WITH_KEYS = FIXTURES / "v1_get_with_keys.json"
QUICKSTART = (
    Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "deploymentconfig.json"
)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("source", [SERIALIZED, WITH_KEYS, QUICKSTART], ids=lambda p: p.name)
def test_config_round_trip_resolves_identically(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "deploy.yaml"
    result = invoke("migrate", str(source), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    original = from_aml_json(json.loads(source.read_text()))
    migrated = load_config(out)
    assert type(migrated) is type(original)
    # keys are not written to the file; everything else resolves to the same values
    assert (
        migrated.resolve()
        == original.model_copy(update={"primary_key": None, "secondary_key": None}).resolve()
    )


def test_serialized_service_config_and_notes(tmp_path: Path) -> None:
    result = invoke("migrate", str(SERIALIZED))
    assert result.exit_code == 0
    doc = yaml.safe_load(result.stdout)
    assert doc == {
        "computeType": "aks",
        "autoscale_enabled": True,
        "autoscale_min_replicas": 2,
        "autoscale_max_replicas": 6,
        "autoscale_refresh_seconds": 5,
        "autoscale_target_utilization": 60,
        "collect_model_data": True,
        "auth_enabled": True,
        "cpu_cores": 0.5,
        "memory_gb": 1.0,
        "enable_app_insights": True,
        "scoring_timeout_ms": 30000,
        "replica_max_concurrent_requests": 2,
        "max_request_wait_time": 1000,
        "tags": {"team": "ml-platform", "cost-center": "42"},
        "properties": {"hasInferenceSchema": "True"},
        "description": "Ridge regression on the diabetes data set",
        "gpu_cores": 0,
        "period_seconds": 10,
        "initial_delay_seconds": 30,
        "timeout_seconds": 2,
        "success_threshold": 1,
        "failure_threshold": 3,
        "token_auth_enabled": False,
        "compute_target_name": "aks-prod",
        "cpu_cores_limit": 1.0,
        "memory_gb_limit": 2.0,
    }
    notes = result.stderr
    assert notes.startswith("not carried over:\n")
    assert "models (sklearn-diabetes-model:4)" in notes
    assert "pip packages azureml-defaults==1.61.0: not needed" in notes
    assert "conda packages libgomp" in notes
    assert "environment base image mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04" in notes
    assert "scoringUri http://20.50.1.2:80/api/v1/service/sklearn-diabetes/score" in notes


def test_program_is_generated(tmp_path: Path) -> None:
    program = tmp_path / "sklearn"
    result = invoke("migrate", str(SERIALIZED), "--program", str(program))
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in program.iterdir()) == [
        "Pulumi.yaml",
        "__main__.py",
        "deploy.yaml",
    ]
    assert yaml.safe_load((program / "Pulumi.yaml").read_text())["name"] == "sklearn-diabetes"
    source = (program / "__main__.py").read_text()
    compile(source, "__main__.py", "exec")
    assert '    "sklearn-diabetes",\n' in source
    assert 'deployment_config=load_config(HERE / "deploy.yaml"),' in source
    assert 'source_directory="src",' in source
    assert "AksWebserviceArgs(" in source
    assert f"next steps:\n  - copy your scoring code into {program}/src " in result.stderr
    assert 'entry_script="score.py",' in source
    assert 'models=[{"name": "sklearn-diabetes-model", "version": "4"}],' in source
    assert (
        'environment={"pip_requirements": ["scikit-learn==1.4.2", "joblib", "numpy>=1.26"]},'
        in source
    )
    assert 'environment_variables={"MODEL_FLAVOUR": "ridge"},' in source
    assert "primary_key=" not in source  # no keys in the input: aksml generates them
    assert (
        'app_insights_connection_string=config.require_secret("appInsightsConnectionString"),'
        in source
    )
    assert "pulumi config set --secret appInsightsConnectionString" in result.stderr
    assert load_config(program / "deploy.yaml").given()["autoscale_max_replicas"] == 6


def test_keys_never_reach_files(tmp_path: Path) -> None:
    program = tmp_path / "fraud"
    result = invoke("migrate", str(WITH_KEYS), "--program", str(program))
    assert result.exit_code == 0, result.stderr
    for path in program.iterdir():
        assert "SECRET" not in path.read_text(), path
    assert "SECRET" not in result.stdout + result.stderr
    source = (program / "__main__.py").read_text()
    assert 'primary_key=config.require_secret("primaryKey"),' in source
    assert 'secondary_key=config.require_secret("secondaryKey"),' in source
    assert "pulumi config set --secret primaryKey <value>" in result.stderr
    assert "imageId fraud-scorer-image:7" in result.stderr
    assert 'models=[{"name": "fraud-model", "version": "12"}],' in source
    assert "num_replicas: 3" in (program / "deploy.yaml").read_text()


def test_deploymentconfig_needs_a_name_for_a_program(tmp_path: Path) -> None:
    result = invoke("migrate", str(QUICKSTART), "--program", str(tmp_path / "p"))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Error, the input has no service name (deploymentconfig.json never does); "
        "pass --name.\n"
    )
    result = invoke(
        "migrate", str(QUICKSTART), "--program", str(tmp_path / "p"), "--name", "Bad_Name"
    )
    assert result.exit_code == 2 and "provided service name is invalid" in result.stderr
    result = invoke("migrate", str(QUICKSTART), "--program", str(tmp_path / "p"), "--name", "qs")
    assert result.exit_code == 2  # 2 characters: v1's 3..32 rule
    result = invoke("migrate", str(QUICKSTART), "--program", str(tmp_path / "p"), "--name", "quick")
    assert result.exit_code == 0, result.stderr
    assert 'entry_script="score.py",' in (tmp_path / "p" / "__main__.py").read_text()
    # no source directory: only score.py is shipped, and the next step says so
    assert f"  - copy score.py into {tmp_path / 'p'} (only the entry script" in result.stderr


def test_v1_validation_messages(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"computeType": "AKS", "containerResourceRequirements": {"cpu": -1, "memoryInGB": 0}}
        )
    )
    result = invoke("migrate", str(bad))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: Invalid configuration, cpu_cores must be greater than zero. "
        "Invalid configuration, memory_gb must be greater than zero.\n"
    )


def test_existing_files_need_force(tmp_path: Path) -> None:
    out = tmp_path / "deploy.yaml"
    out.write_text("keep me")
    result = invoke("migrate", str(QUICKSTART), "-o", str(out))
    assert result.exit_code == 2 and "pass --force" in result.stderr
    assert out.read_text() == "keep me"
    assert invoke("migrate", str(QUICKSTART), "-o", str(out), "--force").exit_code == 0
    assert load_config(out).given()["namespace"] == "aksml-quickstart"


def test_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "x.json"
    broken.write_text("{")
    assert invoke("migrate", str(broken)).exit_code == 2
    assert invoke("migrate", str(tmp_path / "missing.json")).exit_code == 2
    aci = tmp_path / "aci.json"
    aci.write_text('{"computeType": "ACI"}')
    result = invoke("migrate", str(aci))
    assert result.exit_code == 2 and "is not supported" in result.stderr


def test_endpoint_config_migrates_but_not_as_program(tmp_path: Path) -> None:
    endpoint = {
        "computeType": "AKSENDPOINT",
        "name": "scoring-endpoint",
        "authEnabled": True,
        "versions": {
            "blue": {"trafficPercentile": 20, "containerResourceRequirements": {"cpu": 0.2}}
        },
    }
    source = tmp_path / "endpoint.json"
    source.write_text(json.dumps(endpoint))
    result = invoke("migrate", str(source))
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    assert doc["computeType"] == "aksendpoint"
    assert doc["version_name"] == "blue" and doc["traffic_percentile"] == 20
    assert load_config_from_text(tmp_path, result.stdout) == from_aml_json(endpoint)
    result = invoke("migrate", str(source), "--program", str(tmp_path / "p"))
    assert result.exit_code == 2 and "AksEndpoint" in result.stderr
    with pytest.raises(Exception, match="AksWebservice configurations"):
        main_py(migrate(endpoint), "scoring-endpoint", "endpoint.json")


def load_config_from_text(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "reloaded.yaml"
    path.write_text(text)
    return load_config(path)


def test_bad_files_read_like_config_show(tmp_path: Path) -> None:
    """migrate reads files with the spec's reader: same one-line messages as config show."""
    from aksml.errors import WebserviceException
    from aksml.v1 import load_config

    broken_json = tmp_path / "x.json"
    broken_json.write_text('{"computeType": "aks",\n')
    broken_yaml = tmp_path / "x.yaml"
    broken_yaml.write_text("computeType: [aks\n")
    for path in (broken_json, broken_yaml, tmp_path / "missing.json"):
        with pytest.raises(WebserviceException) as caught:
            load_config(path)
        expected = caught.value.message.strip()
        result = invoke("migrate", str(path))
        assert result.exit_code == 2
        assert result.stderr == f"error: {expected}\n"
    assert "line 2, column 1" in invoke("migrate", str(broken_json)).stderr
    # any suffix: JSON when it is JSON, else YAML
    other = tmp_path / "service.txt"
    other.write_text("computeType: AKS\nnumReplicas: 2\n")
    result = invoke("migrate", str(other))
    assert result.exit_code == 0, result.stderr
    assert "num_replicas: 2" in result.stdout
