"""``aksml.offline.engine.adapt``: what changes for a local engine, and what must not (the
render itself). Pure; the container lane (tests/containers) runs the result."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from aksml.errors import WebserviceException
from aksml.offline import engine as eng

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "quickstart"


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    """examples/quickstart rendered (its checked-in render, tests/golden/quickstart)."""
    return [yaml.safe_load(f.read_text()) for f in sorted(GOLDEN.glob("*.yaml"))]


def test_adapt_leaves_the_render_alone(rendered: list[dict[str, Any]]) -> None:
    before = copy.deepcopy(rendered)
    eng.adapt(rendered, image="local/runtime:1", suffix="abc123")
    assert rendered == before


def test_adapt_for_podman(rendered: list[dict[str, Any]]) -> None:
    objs, (pod,) = eng.adapt(
        rendered, image="local/runtime:1", suffix="abc123", ca_bundle=Path("/ca.pem")
    )
    assert [o["kind"] for o in objs] == ["Secret", "ConfigMap", "ConfigMap", "Deployment"]
    secret = objs[0]
    assert secret["metadata"]["name"] == "iris-keys-abc123" and "stringData" not in secret
    assert secret["data"] == pod.keys  # plain text: podman 4.3 mounts .data as is
    assert pod.keys["primaryKey"] != pod.keys["secondaryKey"]
    assert all(len(k) == 64 for k in pod.keys.values())
    dep = objs[-1]
    assert dep["metadata"]["name"] == "iris-abc123" and dep["spec"]["replicas"] == 1
    spec = dep["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    cm_names = {o["metadata"]["name"] for o in objs if o["kind"] == "ConfigMap"}
    for vol in spec["volumes"]:
        if "secret" in vol:
            assert vol["secret"]["secretName"] == "iris-keys-abc123"
            assert vol["secret"]["optional"] is False
        if "configMap" in vol:
            assert vol["configMap"]["name"] in cm_names and vol["configMap"]["optional"] is False
    for ct in spec["initContainers"] + spec["containers"]:
        assert ct["image"] == "local/runtime:1"
        assert not {"livenessProbe", "readinessProbe"} & set(ct)
        assert {"name": "aksml-ca-bundle", "mountPath": eng.CA_BUNDLE_PATH, "readOnly": True} in (
            ct["volumeMounts"]
        )
    ports = spec["containers"][0]["ports"]
    assert {p["hostIP"] for p in ports} == {"127.0.0.1"}
    assert pod.host_ports == {p["containerPort"]: p["hostPort"] for p in ports}
    assert pod.pod == "iris-abc123-pod-0" and pod.grace_seconds == 20
    assert pod.readiness["httpGet"]["path"] == "/-/ready" and pod.http_port == 5001
    assert pod.keys_mount == "/var/run/secrets/aksml/keys"
    assert pod.scoring_uri == f"{pod.base_url}/api/v1/service/iris/score"


def test_unknown_engine_is_one_clear_error() -> None:
    with pytest.raises(WebserviceException, match="--engine must be one of podman, docker"):
        eng.Engine("nerdctl")
