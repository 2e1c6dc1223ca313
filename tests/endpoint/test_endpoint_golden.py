"""examples/ab-test renders exactly its golden manifests (tests/golden/ab-test); every rendered
object is schema-valid and restricted; an AksEndpoint config file renders too.

Regenerate after an intended change (then review and commit the diff):

    uv run aksml render examples/ab-test -o tests/golden/ab-test --clean
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

from aksml.offline.render import render_program, render_source
from aksml.plan import file_name, to_yaml
from aksml.plan.checks import consistency_problems, pod_security_problems
from conftest import validate_object

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ab-test"
GOLDEN = ROOT / "tests" / "golden" / "ab-test"
REGENERATE = "uv run aksml render examples/ab-test -o tests/golden/ab-test --clean"


def test_ab_test_render_matches_golden() -> None:
    objs = render_program(EXAMPLE)
    rendered = {file_name(o): to_yaml(o) for o in objs}
    golden = {p.name: p.read_text(encoding="utf-8") for p in sorted(GOLDEN.glob("*.yaml"))}
    assert sorted(rendered) == sorted(golden), f"object set drifted; regenerate: {REGENERATE}"
    for name, text in rendered.items():
        assert text == golden[name], f"ab-test/{name} drifted; regenerate: {REGENERATE}"
    for obj in objs:
        validate_object(obj)
    assert pod_security_problems(objs) == []
    assert consistency_problems(objs) == []
    (route,) = [o for o in objs if o["kind"] == "HTTPRoute"]
    split = route["spec"]["rules"][-1]
    assert [b["weight"] for b in split["backendRefs"]] == [90, 10]
    assert split["filters"][0]["requestMirror"]["percent"] == 20


def test_ab_test_versions_score_differently() -> None:
    body = json.dumps({"data": [0.45, 0.9, 0.1]})
    blue = runpy.run_path(str(EXAMPLE / "blue" / "score.py"))
    green = runpy.run_path(str(EXAMPLE / "green" / "score.py"))
    assert blue["run"](body)["labels"] == ["low", "high", "low"]
    assert green["run"](body)["labels"] == ["high", "high", "low"]


def test_endpoint_config_file_renders_its_first_version(tmp_path: Path) -> None:
    source = tmp_path / "scoring.json"
    source.write_text(
        json.dumps(
            {
                "computeType": "AKSENDPOINT",
                "versionName": "blue",
                "containerResourceRequirements": {"cpu": 0.25, "memoryInGB": 1},
            }
        )
    )
    (tmp_path / "score.py").write_text("def init():\n    pass\n")
    objs = render_source(source, entry_script="score.py")
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert ("Deployment", "scoring-blue") in names and ("Service", "scoring") in names
    assert ("Secret", "scoring-keys") in names
    for obj in objs:
        validate_object(obj)
