"""AksWebservice under Pulumi mocks: exact children, inputs, parentage, outputs and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

import aksml
from aksml import contract
from aksml.components.webservice import AksWebservice
from aksml.errors import WebserviceException
from startable import SCRIPT_ARGS

MockFactory = Any

K8S = "kubernetes:"
RANDOM = "random:index/randomPassword:RandomPassword"


def settled(*components: AksWebservice) -> pulumi.Output[Any]:
    """Resolves once every child of the components is registered (URNs are known even in
    preview, so callbacks chained on this always run)."""
    urns = [r.urn for ws in components for r in ws.resources.values()]
    return pulumi.Output.all(*[ws.urn for ws in components], *urns)


def child_summary(env: Any) -> list[tuple[str, str]]:
    """(type, name) of every child, sorted (registration order depends on input readiness)."""
    return sorted((r.typ, r.name) for r in env.recorder.children())


@pulumi.runtime.test
def test_default_children_exact(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    ws = AksWebservice("iris", SCRIPT_ARGS)

    def check(_: Any) -> None:
        assert child_summary(env) == sorted(
            [
                (RANDOM, "iris-primary-key"),
                (RANDOM, "iris-secondary-key"),
                ("kubernetes:core/v1:Secret", "iris-keys"),
                ("kubernetes:apps/v1:Deployment", "iris-deployment"),
                ("kubernetes:core/v1:Service", "iris-service"),
                ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "iris-autoscaler"),
                ("kubernetes:policy/v1:PodDisruptionBudget", "iris-disruption-budget"),
                ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "iris-network-policy"),
            ]
        )
        components = [r for r in env.recorder.registered if not r.custom]
        assert [(r.typ, r.name) for r in components] == [("aksml:index:AksWebservice", "iris")]
        deployment = env.recorder.one("kubernetes:apps/v1:Deployment")
        assert deployment["metadata"]["name"] == "iris"
        assert deployment["metadata"]["namespace"] == "default"
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"] == {"requests": {"cpu": "100m", "memory": "512Mi"}}
        assert "replicas" not in deployment["spec"]
        secret = env.recorder.one("kubernetes:core/v1:Secret")
        assert secret["stringData"] == {
            "primaryKey": "generated-iris-primary-key",
            "secondaryKey": "generated-iris-secondary-key",
        }
        passwords = env.recorder.by_type(RANDOM)
        assert all(p.inputs["length"] == 32 and p.inputs["special"] is False for p in passwords)

    return settled(ws).apply(check)


@pulumi.runtime.test
def test_children_are_parented_to_the_component(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    ws = AksWebservice("iris", {**SCRIPT_ARGS, "exposure": "load_balancer"})

    def check(_: Any) -> None:
        child_urns = [u for u in env.urns() if "::iris-" in u]
        assert len(child_urns) == len(env.recorder.children()) == 8
        for urn in child_urns:
            assert "aksml:index:AksWebservice$" in urn, urn

    return settled(ws).apply(check)


@pulumi.runtime.test
async def test_outputs_with_load_balancer_address(pulumi_mocks: MockFactory) -> None:
    pulumi_mocks(lb_address={"ip": "20.1.2.3"})
    ws = AksWebservice("iris", {**SCRIPT_ARGS, "exposure": "load_balancer", "namespace": "ml"})
    assert await ws.scoring_uri.future() == "http://20.1.2.3/api/v1/service/iris/score"
    assert await ws.swagger_uri.future() == "http://20.1.2.3/api/v1/service/iris/swagger.json"
    assert await ws.namespace.future() == "ml"
    assert await ws.service_name.future() == "iris"
    assert await ws.primary_key.future() == "generated-iris-primary-key"
    assert await ws.primary_key.is_secret()
    assert await ws.secondary_key.is_secret()
    status = json.loads(await ws.deployment_status.future())
    assert status == {
        "desiredReplicas": 2,
        "updatedReplicas": 2,
        "availableReplicas": 2,
        "error": None,
    }
    serialized = json.loads(await ws.serialized.future())
    assert serialized["name"] == "iris"
    assert serialized["scoringUri"] == "http://20.1.2.3/api/v1/service/iris/score"
    assert serialized["state"] == "Healthy"
    assert serialized["computeType"] == "AKS"


@pulumi.runtime.test
async def test_load_balancer_hostname(pulumi_mocks: MockFactory) -> None:
    pulumi_mocks(lb_address={"hostname": "lb.example.net"})
    ws = AksWebservice("iris", {**SCRIPT_ARGS, "exposure": "load_balancer"})
    assert await ws.scoring_uri.future() == "http://lb.example.net/api/v1/service/iris/score"


@pulumi.runtime.test
async def test_load_balancer_without_address_does_not_crash(pulumi_mocks: MockFactory) -> None:
    pulumi_mocks(lb_address=None, deployment_status=None)
    ws = AksWebservice("iris", {**SCRIPT_ARGS, "exposure": "load_balancer", "skip_await": True})
    assert await ws.scoring_uri.future() == (
        "http://iris.default.svc.cluster.local/api/v1/service/iris/score"
    )
    status = json.loads(await ws.deployment_status.future())
    assert status["availableReplicas"] is None
    assert json.loads(await ws.serialized.future())["state"] == "Transitioning"


@pulumi.runtime.test
def test_skip_await_annotates(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    ws = AksWebservice("iris", {**SCRIPT_ARGS, "skip_await": True, "exposure": "load_balancer"})

    def check(_: Any) -> None:
        for typ in ("kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service"):
            annotations = env.recorder.one(typ)["metadata"]["annotations"]
            assert annotations["pulumi.com/skipAwait"] == "true"
        assert "annotations" not in env.recorder.one("kubernetes:core/v1:Secret")["metadata"]

    return settled(ws).apply(check)


@pulumi.runtime.test
async def test_preview_mode_unknown_outputs_and_checks_run(pulumi_mocks: MockFactory) -> None:
    """In preview the generated keys are unknown: the Secret input is unknown and the key
    outputs are not known; the static parts are still asserted (and counted)."""
    env = pulumi_mocks(preview=True)
    ws = AksWebservice("iris", {**SCRIPT_ARGS, "exposure": "cluster"})
    ran = []
    assert not await ws.primary_key.is_known()
    assert not await ws.deployment_status.is_known()
    assert await ws.scoring_uri.is_known()
    assert await ws.scoring_uri.future() == (
        "http://iris.default.svc.cluster.local/api/v1/service/iris/score"
    )
    ran.append("uri")
    await settled(ws).future()
    deployment = env.recorder.one("kubernetes:apps/v1:Deployment")
    assert deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] == "iris"
    ran.append("deployment")
    assert ran == ["uri", "deployment"]


@pulumi.runtime.test
async def test_given_keys_are_used_and_secret(pulumi_mocks: MockFactory) -> None:
    env = pulumi_mocks()
    ws = AksWebservice(
        "iris",
        {**SCRIPT_ARGS, "primary_key": "p" * 32, "secondary_key": pulumi.Output.secret("s" * 32)},
    )
    assert await ws.primary_key.future() == "p" * 32
    assert await ws.secondary_key.future() == "s" * 32
    assert await ws.primary_key.is_secret() and await ws.secondary_key.is_secret()
    await settled(ws).future()
    assert env.recorder.by_type(RANDOM) == []
    raw = env.recorder.by_type("kubernetes:core/v1:Secret")[0].inputs["stringData"]
    assert raw["4dabf18193072939515e22adb298388d"]  # the Secret's data is a secret input
    assert env.recorder.one("kubernetes:core/v1:Secret")["stringData"] == {
        "primaryKey": "p" * 32,
        "secondaryKey": "s" * 32,
    }


@pulumi.runtime.test
def test_output_image_is_substituted(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    ws = AksWebservice(
        "iris", {**SCRIPT_ARGS, "image": pulumi.Output.from_input("acr.io/runtime@sha256:abc")}
    )

    def check(_: Any) -> None:
        pod = env.recorder.one("kubernetes:apps/v1:Deployment")["spec"]["template"]["spec"]
        assert pod["containers"][0]["image"] == "acr.io/runtime@sha256:abc"

    return settled(ws).apply(check)


@pulumi.runtime.test
def test_structural_output_is_rejected(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    pulumi_mocks()
    exposure = pulumi.Output.from_input("cluster")  # awaited below: no task left pending
    with pytest.raises(WebserviceException, match="'exposure' must be a plain value"):
        AksWebservice("iris", {"exposure": exposure})  # type: ignore[typeddict-item]
    return exposure


def test_invalid_configuration_is_the_v1_message(pulumi_mocks: MockFactory) -> None:
    pulumi_mocks(preview=True)
    with pytest.raises(WebserviceException) as info:
        AksWebservice("iris", {"cpu_cores": -1, "num_replicas": 0})
    assert info.value.message == (
        "Invalid configuration, cpu_cores must be greater than zero.\n"
        "Invalid configuration, num_replicas must be greater than zero.\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"exposure": "nodeport"},
            "unknown exposure 'nodeport'; allowed values: 'cluster', 'load_balancer', 'ingress', "
            "'gateway'.",
        ),
        (
            {"runtime_mode": "sidecar"},
            "unknown runtime_mode 'sidecar'; allowed values: 'in_process', 'proxy'.",
        ),
        ({"autoscaler": "vpa"}, "unknown autoscaler 'vpa'; allowed values: 'hpa', 'keda'."),
    ],
)
def test_unknown_enum_names_allowed_values(
    args: dict[str, Any], message: str, pulumi_mocks: MockFactory
) -> None:
    pulumi_mocks(preview=True)
    with pytest.raises(WebserviceException) as info:
        AksWebservice("iris", args)  # type: ignore[arg-type]
    assert info.value.message == f"Error, {message}"


def test_invalid_name_is_the_v1_message(pulumi_mocks: MockFactory) -> None:
    pulumi_mocks(preview=True)
    with pytest.raises(WebserviceException, match="between 3 and 32 characters long"):
        AksWebservice("X", {})


def test_deploy_configuration_is_the_v1_call_site() -> None:
    config = aksml.AksWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=1)
    assert isinstance(config, aksml.AksServiceDeploymentConfiguration)
    with pytest.raises(WebserviceException, match="autoscale_min_replicas provided without"):
        aksml.AksWebservice.deploy_configuration(autoscale_min_replicas=2)


@pulumi.runtime.test
def test_deployment_config_object_and_json(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    config = AksWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=1, num_replicas=2)
    a = AksWebservice("svc-obj", {**SCRIPT_ARGS, "deployment_config": config, "memory_gb": 2})
    text = json.dumps(
        {
            "computeType": "AKS",
            "containerResourceRequirements": {"cpu": 0.25, "memoryInGB": 0.5},
            "numReplicas": 3,
        }
    )
    b = AksWebservice("svc-json", {**SCRIPT_ARGS, "deployment_config": text})

    def check(_: Any) -> None:
        deployments = {
            r.name: r.inputs for r in env.recorder.by_type("kubernetes:apps/v1:Deployment")
        }
        first = deployments["svc-obj-deployment"]
        assert first["spec"]["replicas"] == 2
        assert first["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {
            "cpu": "500m",
            "memory": "2Gi",
        }
        second = deployments["svc-json-deployment"]
        assert second["spec"]["replicas"] == 3
        assert second["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {
            "cpu": "250m",
            "memory": "512Mi",
        }

    return settled(a, b).apply(check)


@pulumi.runtime.test
def test_code_and_environment_shipped(
    pulumi_mocks: MockFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> pulumi.Output[Any]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text("def init():\n    pass\n")
    (tmp_path / "requirements.txt").write_text("# deps\nscikit-learn==1.5.2\n\n")
    monkeypatch.chdir(tmp_path)
    env = pulumi_mocks()
    ws = AksWebservice(
        "iris",
        {
            "entry_script": "score.py",
            "source_directory": "src",
            "environment": {"requirements_file": "requirements.txt", "pip_requirements": ["numpy"]},
        },
    )

    def check(_: Any) -> None:
        maps = {
            r.name: env.recorder.unwrap(r.inputs)
            for r in env.recorder.by_type("kubernetes:core/v1:ConfigMap")
        }
        assert sorted(maps) == ["iris-code", "iris-environment"]
        assert maps["iris-code"]["data"] == {"score.py": "def init():\n    pass\n"}
        assert maps["iris-environment"]["data"] == {
            "requirements.txt": "numpy\nscikit-learn==1.5.2\n"
        }
        container = env.recorder.one("kubernetes:apps/v1:Deployment")["spec"]["template"]["spec"][
            "containers"
        ][0]
        envs = {e["name"]: e.get("value") for e in container["env"]}
        assert envs[contract.ENTRY_SCRIPT.env] == "src/score.py"
        assert envs[contract.SOURCE_DIRECTORY.env] == "src"

    return settled(ws).apply(check)


@pulumi.runtime.test
def test_gateway_and_keda_are_custom_resources(pulumi_mocks: MockFactory) -> pulumi.Output[Any]:
    env = pulumi_mocks()
    ws = AksWebservice(
        "iris",
        {
            **SCRIPT_ARGS,
            "exposure": "gateway",
            "gateway": {
                "parent_refs": [{"name": "gw", "namespace": "infra"}],
                "hostnames": ["ml.example.com"],
                "https": True,
            },
            "autoscaler": "keda",
            "autoscale_enabled": True,
            "autoscale_refresh_seconds": 5,
        },
    )

    def check(_: Any) -> None:
        route = env.recorder.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
        assert route["spec"]["parentRefs"][0]["name"] == "gw"
        scaled = env.recorder.one("kubernetes:keda.sh/v1alpha1:ScaledObject")
        assert scaled["spec"]["pollingInterval"] == 5
        names = [r.name for r in env.recorder.children()]
        assert "iris-route" in names and "iris-autoscaler" in names

    return pulumi.Output.all(settled(ws), ws.scoring_uri).apply(
        lambda v: (check(v), self_check_uri(v[1]))
    )


def self_check_uri(uri: str) -> None:
    assert uri == "https://ml.example.com/api/v1/service/iris/score"


@pulumi.runtime.test
async def test_hostless_ingress_uses_the_ingress_address(pulumi_mocks: MockFactory) -> None:
    pulumi_mocks(lb_address={"ip": "10.0.0.7"})
    ws = AksWebservice(
        "iris", {**SCRIPT_ARGS, "exposure": "ingress", "ingress": {"tls_secret_name": "tls"}}
    )
    assert await ws.scoring_uri.future() == "https://10.0.0.7/api/v1/service/iris/score"


@pulumi.runtime.test
async def test_hostless_ingress_without_address_falls_back(pulumi_mocks: MockFactory) -> None:
    pulumi_mocks(lb_address=None)
    ws = AksWebservice("iris", {**SCRIPT_ARGS, "exposure": "ingress"})
    assert await ws.swagger_uri.future() == (
        "http://iris.default.svc.cluster.local/api/v1/service/iris/swagger.json"
    )
