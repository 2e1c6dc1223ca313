"""docs/runtime.md's settings table matches ``aksml.contract`` and the Dockerfile keeps the
image's promises (non-root, ``aksml serve`` entry point, /tmp as the only writable path)."""

from __future__ import annotations

import re
from pathlib import Path

from aksml import contract as c

ROOT = Path(__file__).resolve().parents[2]
_ROW = re.compile(r"^\| `(--[a-z0-9-]+)` \| `([A-Z0-9_]+)` \|", re.MULTILINE)


def test_settings_table_matches_the_contract() -> None:
    text = (ROOT / "docs" / "runtime.md").read_text()
    rows = _ROW.findall(text)
    assert len(rows) == len(set(rows))
    assert set(rows) == {(s.flag, s.env) for s in c.ALL_SETTINGS}


def test_dockerfile_runtime_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    # the final stage builds on the base stage, whose default is the release base
    assert final_stage.startswith("base\n")
    assert "ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim" in text
    assert "FROM ${BASE_IMAGE} AS base" in text
    user = re.search(r"^USER (\d+):(\d+)$", final_stage, re.MULTILINE)
    assert user and int(user.group(1)) != 0 and int(user.group(2)) != 0
    from aksml.plan.pod import RUN_AS_USER

    assert int(user.group(1)) == RUN_AS_USER  # the pod spec's runAsUser
    assert 'ENTRYPOINT ["aksml", "serve"]' in final_stage
    for env in ("HOME=/tmp", "TMPDIR=/tmp", "PYTHONDONTWRITEBYTECODE=1"):
        assert env in final_stage
    assert f"{c.APP_ROOT.env}={c.APP_ROOT_DIR}" in final_stage
    assert f"{c.PORT.env}={c.DEFAULT_PORT}" in final_stage
    assert f"EXPOSE {c.DEFAULT_PORT} {c.DEFAULT_METRICS_PORT}" in final_stage
