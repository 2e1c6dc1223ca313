"""Where each setting lands in the rendered objects, unit conversions, determinism and the
replace-triggering fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from aksml import contract
from aksml.components.args import AksWebserviceArgs
from aksml.components.endpoint_args import AksEndpointVersionArgs
from aksml.errors import WebserviceException
from aksml.plan import (
    CodeBundle,
    EnvironmentSpec,
    Exposure,
    ModelRef,
    ProxySpec,
    WorkloadSettings,
    placeholder,
    plan_webservice,
    service_uris,
    to_yaml,
)
from aksml.plan.endpoint import endpoint_input_from_args, plan_endpoint
from aksml.plan.inputs import workload_from
from aksml.plan.pod import CONFIGMAP_LIMIT_BYTES
from aksml.plan.units import cpu_quantity, memory_quantity
from startable import script_args, scripted

Objs = list[dict[str, Any]]


def kind(objs: Objs, k: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == k]
    assert len(found) == 1, f"{len(found)} {k} objects"
    return found[0]


def runtime(objs: Objs) -> dict[str, Any]:
    c: dict[str, Any] = kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert c["name"] == "runtime"
    return c


def env(objs: Objs) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in runtime(objs)["env"]}


@pytest.mark.parametrize(
    ("cores", "quantity"),
    [(0.1, "100m"), (0.25, "250m"), (1, "1"), (1.5, "1500m"), (2.0, "2"), (0.0001, "1m")],
)
def test_cpu_quantity(cores: float, quantity: str) -> None:
    assert cpu_quantity(cores) == quantity


@pytest.mark.parametrize(
    ("gib", "quantity"),
    [
        (0.5, "512Mi"),
        (1, "1Gi"),
        (1.5, "1536Mi"),
        (0.1, "107374183"),
        (0.25, "256Mi"),
        (16, "16Gi"),
    ],
)
def test_memory_quantity(gib: float, quantity: str) -> None:
    assert memory_quantity(gib) == quantity


# --- every v1 seed parameter: where it lands (parameter, overrides, check) ---
def _resources(objs: Objs) -> dict[str, Any]:
    r: dict[str, Any] = runtime(objs)["resources"]
    return r


def _liveness(objs: Objs) -> dict[str, Any]:
    p: dict[str, Any] = runtime(objs)["livenessProbe"]
    return p


LANDINGS: list[tuple[str, dict[str, Any], Callable[[Objs], Any], Any]] = [
    (
        "autoscale_enabled",
        {"autoscale_enabled": True},
        lambda o: "replicas" in kind(o, "Deployment")["spec"],
        False,
    ),
    (
        "autoscale_min_replicas",
        {"autoscale_min_replicas": 2},
        lambda o: kind(o, "HorizontalPodAutoscaler")["spec"]["minReplicas"],
        2,
    ),
    (
        "autoscale_max_replicas",
        {"autoscale_max_replicas": 7},
        lambda o: kind(o, "HorizontalPodAutoscaler")["spec"]["maxReplicas"],
        7,
    ),
    (
        "autoscale_target_utilization",
        {"autoscale_target_utilization": 55},
        lambda o: kind(o, "HorizontalPodAutoscaler")["spec"]["metrics"][0]["resource"]["target"][
            "averageUtilization"
        ],
        55,
    ),
    (
        "num_replicas",
        {"num_replicas": 4, "autoscale_enabled": False},
        lambda o: kind(o, "Deployment")["spec"]["replicas"],
        4,
    ),
    (
        "collect_model_data",
        {"collect_model_data": True},
        lambda o: env(o)[contract.COLLECT_MODEL_DATA.env],
        "true",
    ),
    ("auth_enabled", {"auth_enabled": False}, lambda o: env(o)[contract.AUTH_MODE.env], "none"),
    (
        "token_auth_enabled",
        {"auth_enabled": False, "token_auth_enabled": True},
        lambda o: env(o)[contract.AUTH_MODE.env],
        "token",
    ),
    ("cpu_cores", {"cpu_cores": 0.75}, lambda o: _resources(o)["requests"]["cpu"], "750m"),
    ("cpu_cores_limit", {"cpu_cores_limit": 2}, lambda o: _resources(o)["limits"]["cpu"], "2"),
    ("memory_gb", {"memory_gb": 0.5}, lambda o: _resources(o)["requests"]["memory"], "512Mi"),
    (
        "memory_gb_limit",
        {"memory_gb_limit": 1.5},
        lambda o: _resources(o)["limits"]["memory"],
        "1536Mi",
    ),
    (
        "gpu_cores",
        {"gpu_cores": 2},
        lambda o: (
            _resources(o)["requests"]["nvidia.com/gpu"],
            _resources(o)["limits"]["nvidia.com/gpu"],
        ),
        ("2", "2"),
    ),
    (
        "enable_app_insights",
        {"enable_app_insights": True},
        lambda o: [
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in runtime(o)["env"]
            if e["name"] == contract.APP_INSIGHTS_CONNECTION_STRING_ENV
        ],
        ["svc-appinsights"],
    ),
    (
        "scoring_timeout_ms",
        {"scoring_timeout_ms": 120000},
        lambda o: (
            env(o)[contract.SCORING_TIMEOUT_MS.env],
            kind(o, "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
        ),
        ("120000", 135),
    ),
    (
        "replica_max_concurrent_requests",
        {"replica_max_concurrent_requests": 4},
        lambda o: env(o)[contract.MAX_CONCURRENT_REQUESTS.env],
        "4",
    ),
    (
        "max_request_wait_time",
        {"max_request_wait_time": 900},
        lambda o: env(o)[contract.MAX_REQUEST_WAIT_MS.env],
        "900",
    ),
    ("period_seconds", {"period_seconds": 7}, lambda o: _liveness(o)["periodSeconds"], 7),
    (
        "initial_delay_seconds",
        {"initial_delay_seconds": 30},
        lambda o: _liveness(o)["initialDelaySeconds"],
        30,
    ),
    ("timeout_seconds", {"timeout_seconds": 4}, lambda o: _liveness(o)["timeoutSeconds"], 4),
    (
        "success_threshold",
        {"success_threshold": 2},
        lambda o: (
            _liveness(o)["successThreshold"],
            runtime(o)["readinessProbe"]["successThreshold"],
        ),
        (1, 2),  # liveness must be 1 (API server); v1's threshold gates readiness
    ),
    ("failure_threshold", {"failure_threshold": 6}, lambda o: _liveness(o)["failureThreshold"], 6),
    (
        "namespace",
        {"namespace": "team-a"},
        lambda o: sorted({x["metadata"]["namespace"] for x in o}),
        ["team-a"],
    ),
    (
        "primary_key",
        {"primary_key": "p-key"},
        lambda o: kind(o, "Secret")["stringData"][contract.PRIMARY_KEY_FILE],
        "p-key",
    ),
    (
        "secondary_key",
        {"secondary_key": "s-key"},
        lambda o: kind(o, "Secret")["stringData"][contract.SECONDARY_KEY_FILE],
        "s-key",
    ),
    (
        "tags",
        {"tags": {"team": "ml"}},
        lambda o: (
            json.loads(kind(o, "Service")["metadata"]["annotations"]["aksml.io/tags"]),
            kind(o, "Service")["metadata"]["labels"]["tags.aksml.io/team"],
        ),
        ({"team": "ml"}, "ml"),
    ),
    (
        "properties",
        {"properties": {"owner": "x y"}},
        lambda o: json.loads(
            kind(o, "Deployment")["metadata"]["annotations"]["aksml.io/properties"]
        ),
        {"owner": "x y"},
    ),
    (
        "description",
        {"description": "Iris model"},
        lambda o: kind(o, "Deployment")["metadata"]["annotations"]["aksml.io/description"],
        "Iris model",
    ),
    (
        "compute_target_name",
        {"compute_target_name": "aks-1"},
        lambda o: kind(o, "Deployment")["metadata"]["annotations"]["aksml.io/compute-target"],
        "aks-1",
    ),
]


@pytest.mark.parametrize(
    ("param", "overrides", "where", "expected"), LANDINGS, ids=[x[0] for x in LANDINGS]
)
def test_seed_parameter_lands(
    param: str, overrides: dict[str, Any], where: Callable[[Objs], Any], expected: Any, config: Any
) -> None:
    work = scripted(
        app_insights_connection_string="InstrumentationKey=k",
        token_issuer="https://login.microsoftonline.com/t/v2.0",  # used when token auth is on
        token_audience="api://ml",
    )
    objs = plan_webservice("svc", config(**overrides), work)
    assert where(objs) == expected
    baseline = plan_webservice("svc", config(), work) if param != "enable_app_insights" else []
    if baseline and param not in ("memory_gb", "autoscale_enabled"):
        assert objs != baseline, f"{param} changed nothing"


def test_autoscale_refresh_seconds_is_keda_polling_interval(config: Any) -> None:
    objs = plan_webservice("svc", config(autoscale_refresh_seconds=15), scripted(autoscaler="keda"))
    so = kind(objs, "ScaledObject")
    assert so["spec"]["pollingInterval"] == 15
    # AML utilisation: target 70% of 1 concurrent request per replica
    assert so["spec"]["triggers"][0]["metadata"]["threshold"] == "0.7"
    assert contract.INFLIGHT_METRIC in so["spec"]["triggers"][0]["metadata"]["query"]


def test_blobfuse_enabled_switches_blob_models_between_csi_and_download(config: Any) -> None:
    model = ModelRef(
        name="m", version="1", source="blob", url="https://acct.blob.core.windows.net/c/dir/m.pkl"
    )
    work = scripted(models=(model,))
    mounted = kind(plan_webservice("svc", config(blobfuse_enabled=True), work), "Deployment")
    pod = mounted["spec"]["template"]["spec"]
    csi = [v for v in pod["volumes"] if "csi" in v]
    assert csi and csi[0]["csi"]["volumeAttributes"] == {
        "containerName": "c",
        "storageAccount": "acct",
    }
    assert "initContainers" not in pod
    fetched = kind(plan_webservice("svc", config(blobfuse_enabled=False), work), "Deployment")
    pod = fetched["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == ["fetch-models"]
    assert not [v for v in pod["volumes"] if "csi" in v]


def test_model_dir_is_name_version_for_one_model(config: Any) -> None:
    objs = plan_webservice("svc", config(), scripted(models=(ModelRef(name="iris", version="3"),)))
    assert env(objs)[contract.MODEL_DIR.env] == f"{contract.MODEL_ROOT_DIR}/iris/3"
    two = scripted(models=(ModelRef(name="a", version="1"), ModelRef(name="b", version="1")))
    assert (
        env(plan_webservice("svc", config(), two))[contract.MODEL_DIR.env]
        == contract.MODEL_ROOT_DIR
    )


def test_environment_installs_into_packages_dir(config: Any) -> None:
    work = scripted(
        environment=EnvironmentSpec(
            pip_requirements=("numpy==2.1.0",), index_url="https://mirror/simple"
        )
    )
    objs = plan_webservice("svc", config(), work)
    pod = kind(objs, "Deployment")["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    assert init["name"] == "install-environment"
    assert init["command"][init["command"].index("--target") + 1] == contract.PACKAGES_DIR
    # the base interpreter's pip, installing for the runtime's interpreter (which imports them)
    assert init["command"][:6] == [
        *(contract.SYSTEM_PYTHON, "-m", "pip", "--python", contract.RUNTIME_PYTHON, "install")
    ]
    assert (
        init["image"]
        == kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    )
    assert init["command"][-2:] == ["--index-url", "https://mirror/simple"]
    assert env(objs)["PYTHONPATH"] == contract.PACKAGES_DIR
    cm = kind(objs, "ConfigMap")
    assert cm["data"] == {"requirements.txt": "numpy==2.1.0\n"}


def test_defaults_are_secure(config: Any) -> None:
    objs = plan_webservice("svc", config(), scripted())
    assert kind(objs, "Service")["spec"]["type"] == "ClusterIP"
    assert [o["kind"] for o in objs] == [
        "Secret",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ]
    pod = kind(objs, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert runtime(objs)["readinessProbe"]["httpGet"]["path"] == contract.READINESS_PATH
    assert runtime(objs)["livenessProbe"]["httpGet"]["path"] == contract.LIVENESS_PATH
    assert runtime(objs)["lifecycle"]["preStop"]["sleep"]["seconds"] > 0
    assert (
        pod["terminationGracePeriodSeconds"]
        >= 60 + runtime(objs)["lifecycle"]["preStop"]["sleep"]["seconds"]
    )
    assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]
    keys = next(v for v in pod["volumes"] if v["name"] == "keys")
    assert keys["secret"]["secretName"] == "svc-keys"
    assert env(objs)[contract.KEYS_FILE.env] == contract.KEYS_MOUNT_DIR
    assert kind(objs, "Secret")["stringData"] == {
        contract.PRIMARY_KEY_FILE: placeholder("primary_key"),
        contract.SECONDARY_KEY_FILE: placeholder("secondary_key"),
    }


def test_single_replica_has_no_disruption_budget(config: Any) -> None:
    kinds = [
        o["kind"]
        for o in plan_webservice("svc", config(num_replicas=1, autoscale_enabled=False), scripted())
    ]
    assert "PodDisruptionBudget" not in kinds and "HorizontalPodAutoscaler" not in kinds


@pytest.mark.parametrize(
    ("exposure", "extra", "scoring"),
    [
        ("cluster", {}, "http://svc.default.svc.cluster.local/api/v1/service/svc/score"),
        ("load_balancer", {}, "http://20.1.2.3/api/v1/service/svc/score"),
        (
            "ingress",
            {"ingress": {"host": "h.example", "tls_secret_name": "t"}},
            "https://h.example/api/v1/service/svc/score",
        ),
        (
            "gateway",
            {"gateway": {"parent_refs": [{"name": "gw"}], "hostnames": ["g.example"]}},
            "http://g.example/api/v1/service/svc/score",
        ),
    ],
)
def test_uris(exposure: str, extra: dict[str, Any], scoring: str, config: Any) -> None:
    work = WorkloadSettings.model_validate({"exposure": exposure, **extra})
    got = service_uris("svc", config(), work, "20.1.2.3" if exposure == "load_balancer" else None)
    assert got == (scoring, scoring.removesuffix("/score") + "/swagger.json")


def test_load_balancer_without_address_uses_cluster_dns(config: Any) -> None:
    work = scripted(exposure=Exposure.LOAD_BALANCER)
    assert service_uris("svc", config(namespace="ml"), work, None)[0] == (
        "http://svc.ml.svc.cluster.local/api/v1/service/svc/score"
    )


def test_same_input_same_bytes(scenarios: dict[str, Any]) -> None:
    for cfg, work in scenarios.values():
        first = [to_yaml(o) for o in plan_webservice("svc", cfg, work)]
        second = [to_yaml(o) for o in plan_webservice("svc", cfg.model_copy(), work.model_copy())]
        assert first == second


def _replace_fields(objs: Objs) -> dict[str, Any]:
    """The fields whose change makes pulumi-kubernetes replace an object."""
    out: dict[str, Any] = {}
    for o in objs:
        key = f"{o['kind']}/{o['metadata'].get('labels', {}).get('app.kubernetes.io/component')}"
        fields: dict[str, Any] = {
            "name": o["metadata"]["name"],
            "ns": o["metadata"].get("namespace"),
        }
        if o["kind"] == "Deployment":
            fields["selector"] = o["spec"]["selector"]
        if o["kind"] == "Service":
            fields["clusterIP"] = o["spec"].get("clusterIP")
        if o["kind"] in ("Secret", "ConfigMap"):
            fields["data"] = (
                o.get("data"),
                o.get("stringData"),
                o.get("binaryData"),
                o.get("type"),
            )
        out[key] = fields
    return out


@pytest.mark.parametrize(
    "change",
    [
        {
            "autoscale_min_replicas": 3,
            "autoscale_max_replicas": 20,
            "autoscale_target_utilization": 50,
        },
        {"tags": {"team": "ml", "env": "prod"}, "properties": {"a": "b"}, "description": "new"},
        {
            "period_seconds": 30,
            "initial_delay_seconds": 60,
            "timeout_seconds": 5,
            "failure_threshold": 9,
        },
        {"cpu_cores": 1, "memory_gb": 2, "scoring_timeout_ms": 5000},
    ],
)
def test_in_place_changes_keep_replace_fields(change: dict[str, Any], config: Any) -> None:
    code = CodeBundle(directory_name="src", files={"score.py": b"x = 1\n"})
    work = WorkloadSettings(entry_script="score.py", code=code, exposure="load_balancer")
    before = plan_webservice("svc", config(), work)
    after = plan_webservice("svc", config(**change), work)
    assert before != after
    assert _replace_fields(before) == _replace_fields(after)


def test_code_change_rolls_the_deployment_by_name(config: Any) -> None:
    def cm_name(text: bytes) -> str:
        work = scripted(
            entry_script="s.py", code=CodeBundle(directory_name="d", files={"s.py": text})
        )
        return str(kind(plan_webservice("svc", config(), work), "ConfigMap")["metadata"]["name"])

    assert cm_name(b"a") != cm_name(b"b") and cm_name(b"a").startswith("svc-code-")


def test_configmap_limit_is_a_clear_error(config: Any) -> None:
    big = CodeBundle(
        directory_name="src", files={"score.py": b"x", "blob.bin": b"\0" * CONFIGMAP_LIMIT_BYTES}
    )
    with pytest.raises(WebserviceException, match="1 MiB"):
        plan_webservice("svc", config(), WorkloadSettings(entry_script="score.py", code=big))


def test_invalid_service_name_is_the_v1_message(config: Any) -> None:
    with pytest.raises(WebserviceException, match="between 3 and 32 characters"):
        plan_webservice("Bad_Name", config())


@pytest.mark.parametrize(
    ("work", "message"),
    [
        (scripted(exposure="gateway"), "gateway settings"),
        (scripted(runtime_mode="proxy"), "proxy settings"),
        (
            scripted(runtime_mode="proxy", proxy=ProxySpec(image="x", port=5001)),
            "port 5001",
        ),
        (scripted(environment_variables={"AKSML_PORT": "1"}), "AKSML_PORT"),
        (scripted(models=(ModelRef(name="m", version="1", source="url"),)), "needs a url"),
    ],
)
def test_impossible_combinations(work: WorkloadSettings, message: str, config: Any) -> None:
    with pytest.raises(WebserviceException, match=message):
        plan_webservice("svc", config(), work)


def test_proxy_mode_gives_v1_resources_to_the_model_container(config: Any) -> None:
    work = scripted(runtime_mode="proxy", proxy=ProxySpec(image="me/model:1", port=8000))
    objs = plan_webservice("svc", config(cpu_cores=2, gpu_cores=1), work)
    containers = kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["runtime", "model"]
    assert containers[1]["resources"]["requests"] == {
        "cpu": "2",
        "memory": "512Mi",
        "nvidia.com/gpu": "1",
    }
    assert env(objs)[contract.UPSTREAM.env] == "http://127.0.0.1:8000"


def test_test_defaults_are_the_spec_defaults(config: Any) -> None:
    """The factory the plan tests use agrees with the spec's resolve() defaults."""
    from aksml.v1 import AksServiceDeploymentConfiguration, deploy_configuration

    assert config() == AksServiceDeploymentConfiguration().resolve()
    assert config(num_replicas=3) == deploy_configuration(num_replicas=3).resolve()


def test_priority_class_name_lands_per_service_and_per_version(config: Any) -> None:
    """From the component argument to ``spec.priorityClassName``, for a service and for one
    endpoint version; unset leaves the field out; a bad name is refused at preview."""
    assert "priority_class_name" in AksWebserviceArgs.__annotations__
    assert "priority_class_name" in AksEndpointVersionArgs.__annotations__

    def pod_spec(objs: Objs, name: str) -> dict[str, Any]:
        (found,) = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
        spec: dict[str, Any] = found["spec"]["template"]["spec"]
        return spec

    work = workload_from(script_args(priority_class_name="ml-high"))
    assert pod_spec(plan_webservice("svc", config(), work), "svc")["priorityClassName"] == "ml-high"
    assert "priorityClassName" not in pod_spec(plan_webservice("svc", config(), scripted()), "svc")

    versions = [
        script_args(version_name="blue", priority_class_name="ml-high"),
        script_args(version_name="green", traffic_percentile=0),
    ]
    objs = plan_endpoint(endpoint_input_from_args("abtest", {"versions": versions}))
    assert pod_spec(objs, "abtest-blue")["priorityClassName"] == "ml-high"
    assert "priorityClassName" not in pod_spec(objs, "abtest-green")

    bad = scripted(priority_class_name="High_Priority")
    with pytest.raises(WebserviceException, match=r"spec\.priorityClassName: Invalid value"):
        plan_webservice("svc", config(), bad)
