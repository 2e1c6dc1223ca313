"""examples/aks-from-scratch/__main__.py run as a Pulumi program under mocks (in the project
directory, as Pulumi runs it): the first preview, where the cluster, registry and workspace
do not exist yet, still registers every child; an update builds and pushes the image, grants
AcrPull and renders Kubernetes objects that validate against the Kubernetes schemas."""

from __future__ import annotations

import os
import runpy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pulumi
import pytest
from azure_fakes import (
    CLUSTER_ID,
    IMAGE_DIGEST,
    KUBELET_OBJECT_ID,
    RG,
    SUBSCRIPTION,
    UAI_CLIENT_ID,
    Recorder,
    is_wrapped_secret,
    unwrap,
)

from aksml import contract
from aksml.azure import image as images
from aksml.plan.metadata import (
    WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION,
    WORKLOAD_IDENTITY_USE_LABEL,
)

Install = Callable[..., Recorder]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aks-from-scratch"
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0")
ACR_PULL = "7f951dca-d2c6-4e46-8bf0-4a8e6e3fb3a0"
REGISTRY = images.registry_name("scratch", "aksml-test/dev")


@pytest.fixture
def in_project() -> Iterator[None]:
    """Pulumi runs a program with the project directory as its working directory."""
    cwd = os.getcwd()
    os.chdir(EXAMPLE)
    try:
        yield
    finally:
        os.chdir(cwd)


def _run_example() -> None:
    @pulumi.runtime.test  # type: ignore[misc]
    def body() -> None:
        runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__")

    body()


def test_preview_before_anything_exists_registers_every_child(
    azure_mocks: Install, in_project: None
) -> None:
    rec = azure_mocks(preview=True, unknown_cluster=True)
    _run_example()
    # nothing is looked up before the cluster exists (only the deployer's identity is read,
    # and the registry's credentials, which wait for its name)
    assert {c.token for c in rec.calls} <= {
        "azure-native:authorization:getClientConfig",
        "azure-native:containerregistry:listRegistryCredentials",
    }
    names = {(r.typ, r.name) for r in rec.custom()}
    assert {
        ("azure-native:resources:ResourceGroup", "aksml-scratch"),
        ("azure-native:containerservice:ManagedCluster", "aksml-scratch"),
        ("azure-native:containerregistry:Registry", "aksml-scratch"),
        ("azure-native:operationalinsights:Workspace", "aksml-scratch"),
        ("pulumi:providers:kubernetes", "churn-azure-k8s"),
        ("azure-native:managedidentity:UserAssignedIdentity", "churn-azure-identity"),
        ("azure-native:managedidentity:FederatedIdentityCredential", "churn-azure-federated"),
        ("azure-native:applicationinsights:Component", "churn-azure-appinsights"),
        ("azure-native:storage:StorageAccount", "churn-azure-storage"),
        ("azure-native:storage:BlobContainer", "churn-azure-modeldata"),
        ("azure-native:storage:Blob", "churn-azure-model-churn/1/weights.json"),
        ("docker-build:index:Image", "churn-azure-image"),
        ("azure-native:authorization:RoleAssignment", "churn-azure-acr-pull"),
        ("kubernetes:apps/v1:Deployment", "churn-deployment"),
        ("kubernetes:core/v1:ServiceAccount", "churn-service-account"),
        ("kubernetes:core/v1:Service", "churn-service"),
    } <= names
    # the workspace is the program's: the component creates none of its own
    assert not [n for t, n in names if t.endswith(":Workspace") and n != "aksml-scratch"]
    (deployment,) = [r for r in rec.custom() if r.typ == "kubernetes:apps/v1:Deployment"]
    image = deployment.inputs["spec"]["template"]["spec"]["containers"][0].get("image")
    assert image is None or not isinstance(image, str)  # unknown until the image is built


def test_update_builds_pushes_grants_and_renders_valid_objects(
    azure_mocks: Install, in_project: None
) -> None:
    rec = azure_mocks()
    _run_example()
    registry_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/"
        f"Microsoft.ContainerRegistry/registries/{REGISTRY}"
    )
    # the program's registry, workspace and cluster are the ones the service uses
    assert not rec.of_type("azure-native:operationalinsights:Workspace")[1:]
    insights = rec.inputs("azure-native:applicationinsights:Component", "churn-azure-appinsights")
    assert insights["workspaceResourceId"].endswith("/workspaces/aksml-scratch")
    assert len(rec.of_type("azure-native:containerregistry:Registry")) == 1
    grant = rec.inputs("azure-native:authorization:RoleAssignment", "churn-azure-acr-pull")
    assert grant == {
        "principalId": KUBELET_OBJECT_ID,
        "principalType": "ServicePrincipal",
        "roleDefinitionId": (
            f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{ACR_PULL}"
        ),
        "scope": registry_id,
    }
    provider = rec.one("pulumi:providers:kubernetes", "churn-azure-k8s")
    assert provider.inputs["clusterIdentifier"] == CLUSTER_ID

    raw_image = rec.one("docker-build:index:Image", "churn-azure-image").inputs
    assert is_wrapped_secret(raw_image["registries"])
    built = unwrap(raw_image)
    assert built["context"] == {"location": "src"}
    assert built["push"] is True
    dockerfile = built["dockerfile"]["inline"]
    assert "numpy>=1.26,<3\nAKSML_REQUIREMENTS" in dockerfile
    assert "COPY . /var/azureml-app/src/" in dockerfile
    (tag,) = built["tags"]
    assert tag.startswith(f"{REGISTRY}.azurecr.io/churn:")

    k8s_objects = [
        {"apiVersion": i["apiVersion"], "kind": i["kind"], **i}
        for r in rec.custom()
        if r.typ.startswith("kubernetes:")
        for i in [unwrap(r.inputs)]
    ]
    assert not [o for o in k8s_objects if o["kind"] == "ConfigMap"]  # code is in the image
    (deployment,) = [o for o in k8s_objects if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert [c["image"] for c in pod["containers"]] == [f"{tag}@{IMAGE_DIGEST}"]
    assert "install-environment" not in [c["name"] for c in pod.get("initContainers", [])]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env[contract.ENTRY_SCRIPT.env] == "src/score.py"
    assert env[contract.DATA_COLLECTION_BLOB_URL.env].endswith(".blob.core.windows.net/modeldata")
    assert (
        deployment["spec"]["template"]["metadata"]["labels"][WORKLOAD_IDENTITY_USE_LABEL] == "true"
    )

    validated = []
    for obj in k8s_objects:
        assert obj["metadata"].get("namespace", "ml") == "ml"
        if obj["kind"] == "ServiceAccount":
            annotations = obj["metadata"]["annotations"]
            assert annotations[WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION] == UAI_CLIENT_ID
        for version in KUBERNETES_VERSIONS:
            if obj["apiVersion"] in ("v1", "apps/v1", "policy/v1", "networking.k8s.io/v1"):
                kubernetes_validate.validate(_json_ready(obj), version, strict=True)
                validated.append(obj["kind"])
    assert {"Deployment", "ServiceAccount", "Namespace", "Secret", "Service"} <= set(validated)


GOLDEN = Path(__file__).parent / "golden-aks-from-scratch"
REGENERATE = (
    "uv run aksml render examples/aks-from-scratch -o tests/azure/golden-aks-from-scratch --clean"
)


def test_offline_render_matches_golden() -> None:
    """``aksml render`` runs the program with stand-in Azure values (nothing is built, no
    registry or Azure is contacted); the checked-in render shows a pull request's diff."""
    from aksml.offline.render import render_program
    from aksml.plan import file_name, to_yaml
    from aksml.plan.checks import consistency_problems, pod_security_problems

    objects = render_program(EXAMPLE)
    rendered = {file_name(o): to_yaml(o) for o in objects}
    golden = {p.name: p.read_text(encoding="utf-8") for p in sorted(GOLDEN.glob("*.yaml"))}
    assert sorted(rendered) == sorted(golden), f"object set drifted; regenerate: {REGENERATE}"
    for name, text in rendered.items():
        assert text == golden[name], f"{name} drifted; regenerate: {REGENERATE}"
    assert pod_security_problems(objects) == []
    assert consistency_problems(objects) == []
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    image = pod["containers"][0]["image"]
    assert ".azurecr.io/churn:" in image and image.endswith("@sha256:" + "0" * 64)
    assert "initContainers" not in pod
    assert not [o for o in objects if o["kind"] == "ConfigMap"]


def _json_ready(value: Any) -> Any:
    """Mock inputs carry floats for ints (replicas: 1.0); the schema wants integers."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
