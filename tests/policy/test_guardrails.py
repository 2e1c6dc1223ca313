"""The guardrail rules (policy/guardrails.py) on rendered objects, passing and failing, and the
policy pack (policy/__main__.py) that wraps them, without the Pulumi CLI."""

from __future__ import annotations

import copy
import importlib
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from aksml import contract
from aksml.plan.inputs import settings_from_args
from aksml.plan.webservice import plan_webservice
from startable import SCRIPT_ARGS, script_args

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policy"
GOLDEN = ROOT / "tests" / "golden"
DIGEST = "sha256:" + "ab" * 32


sys.path.insert(0, str(POLICY))
guardrails = importlib.import_module("guardrails")
pack = SimpleNamespace(**runpy.run_path(str(POLICY / "__main__.py"), run_name="aksml_policy_pack"))


def golden(example: str) -> list[dict[str, Any]]:
    """A checked-in render (what ``aksml render`` writes)."""
    return [yaml.safe_load(p.read_text()) for p in sorted((GOLDEN / example).glob("*.yaml"))]


def render(**args: Any) -> list[dict[str, Any]]:
    """The objects of one AksWebservice with these component arguments."""
    config, workload = settings_from_args({"namespace": "ml", **script_args(**args)})
    return plan_webservice("svc", config.resolve(), workload)


def kinds(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def messages(violations: list[Any]) -> list[str]:
    return [f"{v.object}: {v.message}" for v in violations]


def test_rules_import_only_the_standard_library() -> None:
    code = (
        "import sys; before = set(sys.modules); sys.path.insert(0, 'policy'); import guardrails; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(new - set(sys.stdlib_module_names)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['guardrails']"


def test_rule_constants_are_the_runtime_contract() -> None:
    assert contract.AUTH_MODE.env == guardrails.AUTH_ENV
    assert contract.COLLECT_MODEL_DATA.env == guardrails.COLLECT_MODEL_DATA_ENV
    assert contract.DATA_COLLECTION_DIR.env == guardrails.DATA_COLLECTION_DIR_ENV
    assert contract.DATA_COLLECTION_BLOB_URL.env == guardrails.DATA_COLLECTION_BLOB_URL_ENV


# The limits every golden render lacks: v1 leaves cpu_cores_limit/memory_gb_limit unset by
# default (quickstart sets both; gpu only memory_gb_limit, which caps its proxy sidecar too).
UNLIMITED = {
    "quickstart": [],
    "gpu": ["resnet-gpu: runtime", "resnet-gpu: model"],
    "ingress": ["sentiment: fetch-models", "sentiment: runtime"],
    "ab-test": ["abtest-blue: runtime", "abtest-green: runtime"],
}


@pytest.mark.parametrize("example", sorted(UNLIMITED))
def test_golden_renders_against_every_rule(example: str) -> None:
    found = guardrails.check_all(golden(example), production=False)
    assert "aksml-pinned-images" not in found
    limits = found.pop("aksml-cpu-memory-limits")
    assert found == {name: [] for name in found}, found
    unlimited = [f"{v.object.rsplit('/', 1)[-1]}: {v.message.split(chr(39))[1]}" for v in limits]
    assert unlimited == UNLIMITED[example]
    production = guardrails.check_all(golden(example), production=True)["aksml-pinned-images"]
    assert production and all("is not pinned by digest" in v.message for v in production)


def test_auth_rule() -> None:
    assert guardrails.require_auth(render()) == []
    token = render(
        token_auth_enabled=True,
        auth_enabled=False,
        token_issuer="https://login.example.com/tenant/v2.0",
        token_audience="api://svc",
    )
    assert guardrails.require_auth(token) == []
    assert messages(guardrails.require_auth(render(auth_enabled=False))) == [
        "Deployment/ml/svc: container 'runtime' serves without authentication "
        "(AKSML_AUTH=none): set auth_enabled or token_auth_enabled"
    ]


LIMITS = {"cpu_cores_limit": 1, "memory_gb_limit": 2}


def test_limits_rule_covers_every_container() -> None:
    assert guardrails.require_limits(render(**LIMITS)) == []
    assert messages(guardrails.require_limits(render())) == [
        "Deployment/ml/svc: container 'runtime' has no cpu and memory limit: "
        "set cpu_cores_limit and memory_gb_limit"
    ]
    objects = render(environment={"pip_requirements": ["scikit-learn==1.5.0"]}, **LIMITS)
    assert guardrails.require_limits(objects) == []  # the init container has them too
    broken = copy.deepcopy(objects)
    pod = kinds(broken, "Deployment")[0]["spec"]["template"]["spec"]
    del pod["initContainers"][0]["resources"]["limits"]["cpu"]
    del pod["containers"][0]["resources"]["limits"]["memory"]
    assert messages(guardrails.require_limits(broken)) == [
        "Deployment/ml/svc: container 'install-environment' has no cpu limit: "
        "set cpu_cores_limit and memory_gb_limit",
        "Deployment/ml/svc: container 'runtime' has no memory limit: "
        "set cpu_cores_limit and memory_gb_limit",
    ]


EVERY_AKSML_CONTAINER = {
    # install-environment and fetch-models init containers
    "environment": {"pip_requirements": ["scikit-learn==1.5.0"]},
    "models": [{"name": "m", "version": "1", "source": "url", "url": "https://x.test/m.pkl"}],
}
PROXY = {"runtime_mode": "proxy", "proxy": {"image": "registry.example/model:1", "port": 8000}}


@pytest.mark.parametrize("mode", [EVERY_AKSML_CONTAINER, PROXY], ids=["in-process", "proxy"])
def test_every_rule_passes_once_its_documented_fix_is_set(mode: dict[str, Any]) -> None:
    """No container aksml adds on its own is left for a rule to flag: with the parameters the
    pack's messages name (limits, a namespace; auth is on by default), a render with every
    init container, or with the proxy sidecar, passes every rule (pinned images: production
    stacks, and the image is the user's choice)."""
    objects = render(**mode, **LIMITS)
    names = [
        c["name"]
        for pod in (kinds(objects, "Deployment")[0]["spec"]["template"]["spec"],)
        for c in [*pod.get("initContainers", []), *pod["containers"]]
    ]
    expected = ["fetch-models", "install-environment", "runtime"]
    assert sorted(names) == (expected if mode is EVERY_AKSML_CONTAINER else ["model", "runtime"])
    found = guardrails.check_all(objects, production=False)
    assert found == {name: [] for name in found}, found
    assert "aksml-cpu-memory-limits" in found
    # the limits are the user's, never below the sidecar's own requests
    small = render(**mode, cpu_cores_limit=0.05, cpu_cores=0.05, memory_gb_limit=0.1, memory_gb=0.1)
    assert guardrails.require_limits(small) == []


def test_pdb_rule_counts_replicas_and_autoscaler_maximum() -> None:
    replicated = render(autoscale_enabled=False, num_replicas=3)
    assert kinds(replicated, "PodDisruptionBudget") and guardrails.require_pdb(replicated) == []
    without = [o for o in replicated if o["kind"] != "PodDisruptionBudget"]
    assert messages(guardrails.require_pdb(without)) == [
        "Deployment/ml/svc: can run 3 replicas but no PodDisruptionBudget selects its pods"
    ]
    autoscaled = render(autoscale_enabled=True, autoscale_max_replicas=4)
    no_pdb = [o for o in autoscaled if o["kind"] != "PodDisruptionBudget"]
    assert messages(guardrails.require_pdb(no_pdb))[0].endswith(
        "can run 4 replicas but no PodDisruptionBudget selects its pods"
    )
    other = copy.deepcopy(kinds(autoscaled, "PodDisruptionBudget")[0])
    other["spec"]["selector"]["matchLabels"]["app.kubernetes.io/instance"] = "other"
    assert len(guardrails.require_pdb([*no_pdb, other])) == 1  # selects other pods
    single = render(autoscale_enabled=False, num_replicas=1)
    assert guardrails.require_pdb(single) == []


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        (f"ghcr.io/aksml/aksml-runtime:0.1.0@{DIGEST}", None),
        (f"myregistry.azurecr.io:443/team/model@{DIGEST}", None),
        ("ghcr.io/aksml/aksml-runtime:latest", "uses the mutable tag ':latest'"),
        ("ghcr.io/aksml/aksml-runtime", "uses the mutable tag ':latest'"),
        ("localhost:5000/model", "uses the mutable tag ':latest'"),
        ("ghcr.io/aksml/aksml-runtime:0.1.0", "is not pinned by digest (image@sha256:...)"),
        ("<unknown until deployed>", None),
    ],
)
def test_pinned_images_rule(image: str, problem: str | None) -> None:
    objects = render(image=image) if not image.startswith("<") else render()
    if image.startswith("<"):
        kinds(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["image"] = (
            image
        )
    found = messages(guardrails.require_pinned_images(objects))
    expected = [f"Deployment/ml/svc: container 'runtime' image '{image}' {problem}"]
    assert found == ([] if problem is None else expected)


def test_pinned_images_is_production_only() -> None:
    objects = render(image="ghcr.io/aksml/aksml-runtime:latest")
    assert "aksml-pinned-images" not in guardrails.check_all(objects, production=False)
    assert guardrails.check_all(objects, production=True)["aksml-pinned-images"]


def test_default_namespace_rule() -> None:
    assert guardrails.forbid_default_namespace(render()) == []
    config, workload = settings_from_args(SCRIPT_ARGS)
    in_default = plan_webservice("svc", config.resolve(), workload)
    found = messages(guardrails.forbid_default_namespace(in_default))
    assert found and all("is in the 'default' namespace: set namespace" in m for m in found)
    assert len(found) == len(in_default)  # no Namespace object is rendered for 'default'
    unnamed = copy.deepcopy(render())
    del unnamed[-1]["metadata"]["namespace"]
    assert messages(guardrails.forbid_default_namespace(unnamed))[0].endswith(
        "names no namespace: set namespace"
    )


def test_durable_data_collection_rule() -> None:
    assert guardrails.require_durable_data_collection(render()) == []
    local = render(collect_model_data=True)
    assert messages(guardrails.require_durable_data_collection(local)) == [
        "Deployment/ml/svc: container 'runtime' collects model data to "
        "'/var/aksml/data-collection', which is lost with the pod: set data_collection_blob_url "
        "(or mount a persistent volume there)"
    ]
    blob = render(
        collect_model_data=True,
        data_collection_blob_url="https://acct.blob.core.windows.net/modeldata",
    )
    assert guardrails.require_durable_data_collection(blob) == []
    persistent = copy.deepcopy(local)
    pod = kinds(persistent, "Deployment")[0]["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "data-collection")
    volume.pop("emptyDir")
    volume["persistentVolumeClaim"] = {"claimName": "modeldata"}
    assert guardrails.require_durable_data_collection(persistent) == []


# --- the policy pack wrapper ---------------------------------------------------------------


def _resources(objects: list[dict[str, Any]], unknown_image: bool = False) -> list[Any]:
    """PolicyResources as the engine hands them over: inputs behind the unknown-checking proxy."""
    from pulumi_policy.policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

    out = []
    for obj in objects:
        props = copy.deepcopy(obj)
        if unknown_image and obj["kind"] == "Deployment":
            props["spec"]["template"]["spec"]["containers"][0]["image"] = UNKNOWN_STRING_VALUE
        token = "kubernetes:" + obj["apiVersion"].replace("/", "/") + ":" + obj["kind"]
        name = obj["metadata"]["name"]
        opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
        urn = f"urn:pulumi:dev::proj::{token}::{name}"
        out.append(
            PolicyResource(
                token, unknown_checking_proxy(props), urn, name, opts, None, None, [], {}
            )
        )
    return out


def _run_pack(
    resources: list[Any], config: dict[str, Any] | None = None, tags: dict[str, str] | None = None
) -> dict[str, list[tuple[str, str | None]]]:
    from pulumi_policy import StackValidationArgs

    reported: dict[str, list[tuple[str, str | None]]] = {}
    for policy in pack.policies():
        args = StackValidationArgs(resources, config or {}, tags or {})
        sink = reported.setdefault(policy.name, [])
        policy.validate(args, lambda message, urn=None, sink=sink: sink.append((message, urn)))
    return reported


def test_pack_has_one_mandatory_policy_per_rule() -> None:
    from pulumi_policy import EnforcementLevel

    policies = pack.policies()
    assert [p.name for p in policies] == [r.name for r in guardrails.RULES]
    assert all(p.enforcement_level is EnforcementLevel.MANDATORY for p in policies)


def test_pack_reports_on_the_resource_urn() -> None:
    reported = _run_pack(_resources(render(auth_enabled=False, image="x.io/m:latest")))
    assert reported["aksml-services-require-auth"] == [
        (
            "Deployment/ml/svc: container 'runtime' serves without authentication "
            "(AKSML_AUTH=none): set auth_enabled or token_auth_enabled",
            "urn:pulumi:dev::proj::kubernetes:apps/v1:Deployment::svc",
        )
    ]
    assert reported["aksml-pinned-images"] == []  # not a production stack
    prod_tag = _run_pack(_resources(render(image="x.io/m:latest")), tags={"environment": "prod"})
    assert len(prod_tag["aksml-pinned-images"]) == 1
    prod_cfg = _run_pack(_resources(render(image="x.io/m:latest")), config={"production": True})
    assert len(prod_cfg["aksml-pinned-images"]) == 1


def test_pack_tolerates_values_unknown_in_preview() -> None:
    objects = render(**LIMITS)
    reported = _run_pack(_resources(objects, unknown_image=True), config={"production": True})
    assert reported == {name: [] for name in reported}


# --- the pack as the Pulumi CLI runs it: a process serving the Analyzer gRPC on 127.0.0.1 ---
def test_pack_process_analyzes_a_stack_over_grpc() -> None:
    import grpc
    from google.protobuf import empty_pb2, struct_pb2
    from pulumi.runtime import proto
    from pulumi.runtime.proto import analyzer_pb2_grpc

    objects = render(auth_enabled=False, image="x.io/model:latest", **LIMITS)
    resources = []
    for obj in objects:
        props = struct_pb2.Struct()
        props.update(obj)
        token = f"kubernetes:{obj['apiVersion']}:{obj['kind']}"
        urn = f"urn:pulumi:prod::proj::{token}::{obj['metadata']['name']}"
        resources.append(
            proto.AnalyzerResource(
                type=token, properties=props, urn=urn, name=obj["metadata"]["name"]
            )
        )
    pack_process = subprocess.Popen(
        [sys.executable, str(POLICY / "__main__.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert pack_process.stdout is not None
        port = int(pack_process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=60)
            assert info.name == "aksml-guardrails"
            assert [p.name for p in info.policies] == [r.name for r in guardrails.RULES]
            request = proto.AnalyzeStackRequest(resources=resources)
            found = stub.AnalyzeStack(request, timeout=60).diagnostics
            assert [(d.policyName, d.urn.rsplit("::", 1)[-1]) for d in found] == [
                ("aksml-services-require-auth", "svc")
            ]
            assert found[0].enforcementLevel == proto.MANDATORY
            stub.ConfigureStack(
                proto.AnalyzerStackConfigureRequest(tags={"environment": "production"}),
                timeout=60,
            )
            found = stub.AnalyzeStack(request, timeout=60).diagnostics
            assert sorted(d.policyName for d in found) == [
                "aksml-pinned-images",
                "aksml-services-require-auth",
            ]
    finally:
        pack_process.kill()
        pack_process.wait(timeout=30)
