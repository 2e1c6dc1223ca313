"""``aksml diff`` on two render directories with known changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from aksml.cli import app
from aksml.offline.diff import diff_objects, load_objects, markdown, replacement_reasons, text_lines


def _deployment(selector: str = "svc", image: str = "runtime:1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "svc", "namespace": "ml"},
        "spec": {
            "selector": {"matchLabels": {"app": selector}},
            "template": {
                "metadata": {"labels": {"app": selector}},
                "spec": {"containers": [{"name": "runtime", "image": image}]},
            },
        },
    }


BASE: list[dict[str, Any]] = [
    _deployment(),
    {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "svc", "namespace": "ml"},
        "spec": {"type": "ClusterIP", "ports": [{"port": 80, "targetPort": 5001}]},
    },
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "svc-code", "namespace": "ml"},
        "immutable": True,
        "data": {"score.py": "def run(x):\n    return x\n"},
    },
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "svc-keys", "namespace": "ml"},
        "data": {"primaryKey": "<redacted>"},
    },
    {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "svc-old", "namespace": "ml"},
    },
    {
        "apiVersion": "autoscaling/v2beta2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "svc", "namespace": "ml"},
        "spec": {"minReplicas": 1, "maxReplicas": 10},
    },
]


def _head() -> list[dict[str, Any]]:
    head = copy.deepcopy(BASE)
    head[0] = _deployment(selector="svc-v2", image="runtime:2")  # selector: replacement
    head[1]["spec"]["type"] = "LoadBalancer"  # plain update
    head[2]["data"]["score.py"] = "def run(x):\n    return [x]\n"  # immutable ConfigMap
    head[4]["metadata"]["name"] = "svc-new"  # rename
    head[5]["apiVersion"] = "autoscaling/v2"  # apiVersion change
    del head[3]  # Secret removed
    head.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "svc", "namespace": "ml"},
            "spec": {"podSelector": {}},
        }
    )
    return head


def _write(directory: Path, objects: list[dict[str, Any]]) -> Path:
    """Like ``aksml render``: one file per object, named <kind>-<name>.yaml."""
    directory.mkdir(parents=True, exist_ok=True)
    for obj in objects:
        name = f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        (directory / name).write_text(yaml.safe_dump(obj, sort_keys=False))
    return directory


@pytest.fixture
def renders(tmp_path: Path) -> tuple[Path, Path]:
    return _write(tmp_path / "base", BASE), _write(tmp_path / "head", _head())


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_known_changes(renders: tuple[Path, Path]) -> None:
    base, head = renders
    result = diff_objects(load_objects(base), load_objects(head))
    status = {(c.key[0], c.label): c.status for c in result.changes}
    assert status == {
        ("apps/v1", "Deployment ml/svc"): "changed",
        ("v1", "Service ml/svc"): "changed",
        ("v1", "ConfigMap ml/svc-code"): "changed",
        ("v1", "Secret ml/svc-keys"): "removed",
        ("v1", "ServiceAccount ml/svc-old"): "removed",
        ("v1", "ServiceAccount ml/svc-new"): "added",
        ("autoscaling/v2beta2", "HorizontalPodAutoscaler ml/svc"): "removed",
        ("autoscaling/v2", "HorizontalPodAutoscaler ml/svc"): "added",
        ("networking.k8s.io/v1", "NetworkPolicy ml/svc"): "added",
    }
    assert result.summary() == "3 added, 3 changed, 3 removed (0 unchanged)"
    assert result.warnings == [
        "ConfigMap ml/svc-code: replaced, not updated: data changed on an immutable ConfigMap.",
        "Deployment ml/svc: replaced, not updated: spec.selector changed "
        "(Deployment spec.selector is immutable).",
        "HorizontalPodAutoscaler ml/svc: apiVersion autoscaling/v2beta2 → autoscaling/v2; the "
        "same cluster object, but Pulumi sees a new resource type (create + delete) unless the "
        "resource has an alias.",
        "ServiceAccount ml/svc-old → ServiceAccount ml/svc-new: metadata.name changed; "
        "Kubernetes cannot rename, so the object is replaced (the old one deleted, a new one "
        "created).",
    ]
    service = next(c for c in result.changes if c.label == "Service ml/svc")
    assert service.replacements == []
    assert "-  type: ClusterIP" in service.diff
    assert "+  type: LoadBalancer" in service.diff
    assert service.diff[:2] == ["--- base/v1/Service/ml/svc", "+++ head/v1/Service/ml/svc"]


def test_matching_uses_yaml_not_file_names(tmp_path: Path) -> None:
    base = _write(tmp_path / "a", BASE)
    other = tmp_path / "b"
    other.mkdir()
    # all objects in one multi-document file with an unrelated name, plus a List
    (other / "everything.yml").write_text(yaml.safe_dump_all(BASE[:3]))
    (other / "rest.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": BASE[3:]})
    )
    (other / "Pulumi.yaml").write_text("name: not-a-k8s-object\nruntime: python\n")
    result = diff_objects(load_objects(base), load_objects(other))
    assert not result.has_changes
    assert result.summary() == "0 added, 0 changed, 0 removed (6 unchanged)"


@pytest.mark.parametrize(
    ("kind", "before", "after", "reason"),
    [
        ("Service", {"spec": {"clusterIP": "10.0.0.1"}}, {"spec": {"clusterIP": "10.0.0.2"}},
         "spec.clusterIP changed"),
        ("StatefulSet", {"spec": {"serviceName": "a"}}, {"spec": {"serviceName": "b"}},
         "spec.serviceName changed"),
        ("Job", {"spec": {"template": {"x": 1}}}, {"spec": {"template": {"x": 2}}},
         "spec.template changed"),
        ("PersistentVolumeClaim", {"spec": {"storageClassName": "a"}},
         {"spec": {"storageClassName": "b"}}, "spec.storageClassName changed"),
        ("PersistentVolumeClaim", {"spec": {"accessModes": ["ReadWriteOnce"]}},
         {"spec": {"accessModes": ["ReadWriteMany"]}}, "spec.accessModes changed"),
        ("PersistentVolumeClaim", {"spec": {"resources": {"requests": {"storage": "2Gi"}}}},
         {"spec": {"resources": {"requests": {"storage": "1500Mi"}}}}, "shrinks"),
        ("Secret", {"immutable": True, "data": {"a": "eA=="}},
         {"immutable": True, "data": {"a": "eQ=="}}, "data changed on an immutable Secret"),
        ("ConfigMap", {"immutable": True, "data": {}}, {"data": {}},
         "immutable: true cannot be unset"),
        ("ConfigMap", {"data": {"a": "1"}}, {"data": {"a": "2"}},
         "pulumi-kubernetes replaces a ConfigMap whose data changes"),
        ("ConfigMap", {"data": {"a": "1"}}, {"immutable": True, "data": {"a": "2"}},
         "The Deployment does not roll"),
        ("Secret", {"stringData": {"a": "x"}}, {"stringData": {"a": "x", "b": "y"}},
         "subPath mounts taken from it change only when the pods restart"),
        ("DaemonSet", {"spec": {"selector": {"a": 1}}}, {"spec": {"selector": {"a": 2}}},
         "spec.selector changed"),
    ],
)  # fmt: skip
def test_replacement_rules(
    kind: str, before: dict[str, Any], after: dict[str, Any], reason: str
) -> None:
    reasons = replacement_reasons({"kind": kind, **before}, {"kind": kind, **after})
    assert len(reasons) == 1 and reason in reasons[0]


@pytest.mark.parametrize(
    ("kind", "before", "after"),
    [
        ("Deployment", {"spec": {"replicas": 1}}, {"spec": {"replicas": 3}}),
        ("ConfigMap", {"data": {"a": "1"}, "immutable": False}, {"data": {"a": "1"}}),
        ("PersistentVolumeClaim", {"spec": {"resources": {"requests": {"storage": "1Gi"}}}},
         {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}),
        ("Service", {"spec": {"ports": [{"port": 80}]}}, {"spec": {"ports": [{"port": 81}]}}),
    ],
)  # fmt: skip
def test_in_place_updates(kind: str, before: dict[str, Any], after: dict[str, Any]) -> None:
    assert replacement_reasons({"kind": kind, **before}, {"kind": kind, **after}) == []


def test_namespace_change_is_flagged(tmp_path: Path) -> None:
    moved = copy.deepcopy(BASE)
    moved[1]["metadata"]["namespace"] = "ml-prod"
    result = diff_objects(
        load_objects(_write(tmp_path / "a", BASE)), load_objects(_write(tmp_path / "b", moved))
    )
    assert result.warnings == [
        "Service ml/svc → Service ml-prod/svc: metadata.namespace changed; Kubernetes cannot "
        "rename, so the object is replaced (the old one deleted, a new one created)."
    ]


def test_text_output_piped_is_plain(renders: tuple[Path, Path]) -> None:
    base, head = renders
    result = invoke("diff", str(base), str(head))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[-1] == "3 added, 3 changed, 3 removed (0 unchanged)"
    assert "~ apps/v1 Deployment ml/svc (changed)" in lines
    assert "  ! replacement: spec.selector changed (Deployment spec.selector is immutable)" in lines
    assert "+ networking.k8s.io/v1 NetworkPolicy ml/svc (added)" in lines
    assert "- v1 Secret ml/svc-keys (removed)" in lines
    assert "Warnings (4):" in lines
    assert "\x1b[" not in result.stdout
    # stable: the same output twice
    assert invoke("diff", str(base), str(head)).stdout == result.stdout


def test_text_lines_are_styled(renders: tuple[Path, Path]) -> None:
    base, head = renders
    styles = dict(
        (line, style)
        for style, line in text_lines(diff_objects(load_objects(base), load_objects(head)))
    )
    assert styles["+  type: LoadBalancer"] == "green"
    assert styles["-  type: ClusterIP"] == "red"
    assert styles["~ apps/v1 Deployment ml/svc (changed)"] == "bold yellow"


def test_no_changes_exit_0(tmp_path: Path) -> None:
    base = _write(tmp_path / "a", BASE)
    same = _write(tmp_path / "b", BASE)
    result = invoke("diff", str(base), str(same))
    assert (result.exit_code, result.stdout) == (0, "0 added, 0 changed, 0 removed (6 unchanged)\n")
    md = invoke("diff", str(base), str(same), "--format", "markdown")
    assert md.exit_code == 0
    assert "No changes to Kubernetes objects (6 unchanged)." in md.stdout


def test_markdown_is_pr_ready(renders: tuple[Path, Path]) -> None:
    base, head = renders
    result = invoke("diff", str(base), str(head), "--format", "markdown")
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("<!-- aksml-diff -->\n## aksml diff: ")
    assert "**3 added, 3 changed, 3 removed (0 unchanged)**" in text
    assert "> [!WARNING]\n> **4 replacement warning(s)**:" in text
    assert "| ~ | `Deployment ml/svc` | `apps/v1` | changed ⚠️ replaced |" in text
    assert text.count("<details>") == 9 == text.count("</details>")
    assert "<details><summary><code>- Secret ml/svc-keys</code> (removed)</summary>" in text
    assert text.count("```diff") == 9


def test_markdown_fences_and_size_limit(tmp_path: Path) -> None:
    base = _write(tmp_path / "a", [])
    many = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i}"},
            "data": {"script": "```\n" + "x" * 4000},
        }
        for i in range(30)
    ]
    head = _write(tmp_path / "b", many)
    text = markdown(diff_objects(load_objects(base), load_objects(head)))
    assert len(text) < 65_536
    assert "````diff" in text  # a longer fence than the content's backticks
    assert "object diff(s) left out to fit a GitHub comment" in text
    assert "**30 added, 0 changed, 0 removed (0 unchanged)**" in text


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "error: missing is neither a directory nor a git ref"),
        ("file", "is a file; give a render directory"),
        ("duplicate", "is defined twice"),
        ("invalid", "is not valid YAML/JSON"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: str, message: str
) -> None:
    good = _write(tmp_path / "good", BASE)
    monkeypatch.chdir(Path(__file__).parent)  # inside this repository: refs are looked up
    bad = tmp_path / "bad"
    if setup == "missing":
        bad = Path("missing")
    elif setup == "file":
        bad.write_text("x")
    elif setup == "duplicate":
        _write(bad, BASE[:1])
        (bad / "copy.yaml").write_text(yaml.safe_dump(BASE[0]))
    else:
        bad.mkdir()
        (bad / "broken.yaml").write_text("a: [1\n")
    result = invoke("diff", str(good), str(bad))
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_sample_workflow_matches_the_cli() -> None:
    from aksml.offline.diff import MARKDOWN_MARKER

    path = Path(__file__).resolve().parents[2] / "docs" / "github-actions-aksml-diff.yml"
    workflow = yaml.safe_load(path.read_text())
    steps = workflow["jobs"]["manifest-diff"]["steps"]
    run = next(s["run"] for s in steps if "aksml diff" in s.get("run", ""))
    assert "--format markdown" in run and "--program" in run
    script = next(s["with"]["script"] for s in steps if "script" in s.get("with", {}))
    assert f"const marker = '{MARKDOWN_MARKER}';" in script
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "write"}
