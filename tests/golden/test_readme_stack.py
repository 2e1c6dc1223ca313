"""The README's "Use it from a stack" program runs (under the mock engine) as written."""

from __future__ import annotations

import re
from pathlib import Path

from aksml.offline.render import render_program

ROOT = Path(__file__).resolve().parents[2]


def test_readme_stack_snippet_renders(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Use it from a stack") :]
    snippet = re.search(r"```python\n(.*?)```", section, re.S)
    assert snippet is not None
    (tmp_path / "__main__.py").write_text(snippet.group(1), encoding="utf-8")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "score.py").write_text(
        "def init():\n    pass\n\n\ndef run(raw):\n    return raw\n"
    )
    objs = render_program(tmp_path)
    kinds = sorted(o["kind"] for o in objs)
    assert kinds == sorted(
        [
            "Secret",
            "ConfigMap",
            "ConfigMap",
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
        ]
    )
    service = next(o for o in objs if o["kind"] == "Service")
    assert service["spec"]["type"] == "LoadBalancer"
