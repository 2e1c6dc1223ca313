"""The release workflow publishes exactly the image the components default to.

GitHub Actions cannot run here; these tests read the workflow file and check what it would
push (image name, tag expression, platforms, attestations) against the code's default image.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from aksml.plan.settings import DEFAULT_IMAGE, RUNTIME_IMAGE_REPOSITORY

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _job() -> dict[str, Any]:
    job: dict[str, Any] = _workflow()["jobs"]["runtime-image"]
    return job


def _step(uses_prefix: str) -> dict[str, Any]:
    steps = [s for s in _job()["steps"] if str(s.get("uses", "")).startswith(uses_prefix)]
    assert len(steps) == 1, f"expected one {uses_prefix} step"
    step: dict[str, Any] = steps[0]
    return step


def _pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version


def _expand(expr: str, version: str) -> str:
    """Expand the workflow's ``${{ env.IMAGE }}`` and version-step output expressions."""
    env = _workflow()["env"]
    out = re.sub(r"\$\{\{\s*env\.IMAGE\s*\}\}", env["IMAGE"], expr)
    out = re.sub(r"\$\{\{\s*steps\.version\.outputs\.version\s*\}\}", version, out)
    assert "${{" not in out, f"unexpanded expression in {expr!r}"
    return out


def test_published_image_is_the_components_default() -> None:
    build = _step("docker/build-push-action@")
    tags = [t.strip() for t in str(build["with"]["tags"]).split(",") if t.strip()]
    published = {_expand(tag, _pyproject_version()) for tag in tags}
    assert published == {DEFAULT_IMAGE}
    assert _workflow()["env"]["IMAGE"] == RUNTIME_IMAGE_REPOSITORY
    assert f"ghcr.io/aksml/aksml-runtime:{_pyproject_version()}" == DEFAULT_IMAGE


def test_tag_is_checked_against_pyproject_version() -> None:
    step = next(s for s in _job()["steps"] if s.get("id") == "version")
    script = step["run"]
    assert "pyproject.toml" in script and '["project"]["version"]' in script
    assert '"${GITHUB_REF_NAME}" != "v${version}"' in script and "exit 1" in script
    assert _workflow()[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads `on:` as True


def test_multi_arch_with_sbom_and_provenance() -> None:
    build = _step("docker/build-push-action@")["with"]
    assert set(build["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["push"] is True and build["sbom"] is True
    assert str(build["provenance"]).startswith("mode=max")
    assert build["file"] == "Dockerfile" and (ROOT / build["file"]).is_file()
    attest = _step("actions/attest-build-provenance@")["with"]
    assert attest["subject-digest"] == "${{ steps.build.outputs.digest }}"
    assert _job()["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    _step("docker/setup-qemu-action@")  # arm64 emulation on the amd64 runner
    _step("docker/setup-buildx-action@")
