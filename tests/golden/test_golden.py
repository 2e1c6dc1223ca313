"""Golden renders of the examples: a pull request that changes the manifests shows the diff.

Regenerate after an intended change (then review and commit the diff):

    for e in quickstart gpu ingress; do
        uv run aksml render examples/$e -o tests/golden/$e --clean
    done
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from aksml.offline.render import render_program
from aksml.plan import file_name, to_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ("quickstart", "gpu", "ingress")
REGENERATE = (
    "for e in quickstart gpu ingress; do "
    "uv run aksml render examples/$e -o tests/golden/$e --clean; done"
)


@pytest.mark.parametrize("example", EXAMPLES)
def test_render_matches_golden(example: str) -> None:
    objs = render_program(ROOT / "examples" / example)
    rendered = {file_name(o): to_yaml(o) for o in objs}
    golden_dir = ROOT / "tests" / "golden" / example
    golden = {p.name: p.read_text(encoding="utf-8") for p in sorted(golden_dir.glob("*.yaml"))}
    assert sorted(rendered) == sorted(golden), f"object set drifted; regenerate: {REGENERATE}"
    for name, text in rendered.items():
        assert text == golden[name], f"{example}/{name} drifted; regenerate: {REGENERATE}"


def test_golden_secrets_are_redacted() -> None:
    for path in (ROOT / "tests" / "golden").glob("*/secret-*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert "<redacted>" in text and "generated" not in text and "${aksml:" not in text


def _quickstart_score() -> object:
    spec = importlib.util.spec_from_file_location(
        "aksml_quickstart_score", ROOT / "examples" / "quickstart" / "app" / "score.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_model_scores_iris() -> None:
    score = _quickstart_score()
    score.init()  # type: ignore[attr-defined]
    body = json.dumps({"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]]})
    assert score.run(body) == ["setosa", "virginica", "versicolor"]  # type: ignore[attr-defined]
