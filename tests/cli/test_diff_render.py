"""``aksml diff`` on programs and git refs (rendered with ``aksml render``), and the migrate round
trip: v1 JSON -> program -> render -> the same objects as the v1 JSON itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from aksml.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
SERIALIZED = FIXTURES / "v1_service_serialize.json"
AKSML = str(Path(sys.executable).parent / "aksml")
SCORE_PY = "def init():\n    pass\n\n\ndef run(raw):\n    return {'echo': raw}\n"
GIT = ["git", "-c", "user.name=aksml-test", "-c", "user.email=test@example.com"]

pytestmark = pytest.mark.slow  # each side is a real `aksml render` of a program


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module", autouse=True)
def stack_config() -> Iterator[None]:
    """What `pulumi config set --secret appInsightsConnectionString ...` gives a real stack
    (the migrated service has enable_app_insights on)."""
    connection = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "PULUMI_CONFIG",
            json.dumps({"sklearn-diabetes:appInsightsConnectionString": connection}),
        )
        yield


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The serialize() fixture migrated to a program, with its score.py in place."""
    program = tmp_path_factory.mktemp("migrated") / "sklearn"
    result = invoke("migrate", str(SERIALIZED), "--program", str(program))
    assert result.exit_code == 0, result.stderr
    (program / "src").mkdir()
    (program / "src" / "score.py").write_text(SCORE_PY)
    return program


@pytest.fixture(scope="module")
def migrated_render(migrated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("migrated-render")
    done = subprocess.run(
        [AKSML, "render", str(migrated), "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_migrated_program_renders_like_the_v1_json(
    migrated: Path, migrated_render: Path, tmp_path: Path
) -> None:
    # the same program, but handing the original v1 JSON straight to AksWebservice
    reference = tmp_path / "reference"
    shutil.copytree(migrated, reference)
    main = (reference / "__main__.py").read_text()
    line = '        deployment_config=load_config(HERE / "deploy.yaml"),\n'
    assert line in main
    original = json.loads(SERIALIZED.read_text())
    (reference / "__main__.py").write_text(
        main.replace(line, f"        deployment_config={original!r},\n")
    )
    result = invoke("diff", str(reference), str(migrated_render))
    assert result.exit_code == 0, result.stdout + result.stderr
    summary = result.stdout.splitlines()[-1]
    assert summary.startswith("0 added, 0 changed, 0 removed (")
    assert int(summary.split("(")[1].split()[0]) >= 4  # Deployment, Service, Secrets, code


def test_renamed_program_is_a_replacement(
    migrated: Path, migrated_render: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "renamed"
    shutil.copytree(migrated, renamed)
    main = renamed / "__main__.py"
    main.write_text(main.read_text().replace('"sklearn-diabetes",', '"sklearn-diabetes-v2",'))
    result = invoke("diff", str(migrated_render), str(renamed), "--format", "markdown")
    assert result.exit_code == 1, result.stderr
    assert (
        "Deployment default/sklearn-diabetes → Deployment default/sklearn-diabetes-v2: "
        "metadata.name changed; "
        "Kubernetes cannot rename" in result.stdout
    )


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [*GIT, *args], cwd=repo, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_git_refs(migrated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(migrated, repo / "infra" / "svc")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    deploy = repo / "infra" / "svc" / "deploy.yaml"
    text = deploy.read_text()
    deploy.write_text(
        text.replace("autoscale_max_replicas: 6", "autoscale_max_replicas: 9").replace(
            "cpu_cores: 0.5\n", "cpu_cores: 0.75\n"
        )
    )
    _git(repo, "commit", "-qam", "head")
    monkeypatch.chdir(repo)
    result = invoke("diff", "main~1", "main", "--program", "infra/svc")
    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    assert "~ apps/v1 Deployment default/sklearn-diabetes (changed)" in lines
    assert "+            cpu: 750m" in lines
    assert any(line.startswith("~ autoscaling/v2 HorizontalPodAutoscaler") for line in lines)
    assert "+  maxReplicas: 9" in lines
    assert lines[-1].startswith("0 added, 2 changed, 0 removed")
    missing = invoke("diff", "HEAD", "main", "--program", "nope")
    assert missing.exit_code == 2 and "has no program directory nope" in missing.stderr
    assert _git(repo, "status", "--porcelain") == ""  # git archive leaves the checkout alone
