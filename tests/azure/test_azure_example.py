"""examples/azure/__main__.py, run as a Pulumi program under mocks: in a preview before the
cluster exists (unknown cluster id: no lookups, every child still registered) and in an update;
the Kubernetes objects it renders validate against the Kubernetes schemas."""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pulumi
from azure_fakes import CLUSTER_ID, CLUSTER_NAME, RG, UAI_CLIENT_ID, Recorder, unwrap

from aksml.plan.metadata import WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION

Install = Callable[..., Recorder]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "azure"
KUBERNETES_VERSIONS = ("1.30.0", "1.33.0")


def _run_example() -> None:
    @pulumi.runtime.test  # type: ignore[misc]
    def body() -> None:
        runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__")

    body()


def _kinds(rec: Recorder) -> list[tuple[str, str]]:
    return sorted((r.typ, r.name) for r in rec.custom())


def test_example_preview_before_the_cluster_exists(azure_mocks: Install) -> None:
    rec = azure_mocks(preview=True, unknown_cluster=True)
    _run_example()
    # the cluster is not looked up before it exists (only the deployer's identity is read)
    assert [c.token for c in rec.calls] == ["azure-native:authorization:getClientConfig"]
    kinds = {t for t, _ in _kinds(rec)}
    assert {
        "azure-native:resources:ResourceGroup",
        "azure-native:containerservice:ManagedCluster",
        "pulumi:providers:kubernetes",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:managedidentity:FederatedIdentityCredential",
        "azure-native:applicationinsights:Component",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:Blob",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:ServiceAccount",
    } <= kinds


def test_example_update_renders_valid_wired_objects(azure_mocks: Install) -> None:
    rec = azure_mocks()
    _run_example()
    cluster = rec.inputs("azure-native:containerservice:ManagedCluster", "aksml")
    assert cluster["oidcIssuerProfile"] == {"enabled": True}
    assert cluster["securityProfile"] == {"workloadIdentity": {"enabled": True}}
    assert cluster["storageProfile"] == {"blobCSIDriver": {"enabled": True}}
    provider = rec.one("pulumi:providers:kubernetes", "churn-azure-k8s")
    assert provider.inputs["clusterIdentifier"] == CLUSTER_ID
    lookups = {dict(c.args)["resourceName"] for c in rec.calls if "ManagedCluster" in c.token}
    assert lookups == {CLUSTER_NAME}
    blob = rec.inputs("azure-native:storage:Blob", "churn-azure-model-churn/1/weights.json")
    assert blob["blobName"] == "churn/1/weights.json" and blob["resourceGroupName"] == RG

    k8s_objects = [
        {"apiVersion": i["apiVersion"], "kind": i["kind"], **i}
        for r in rec.custom()
        if r.typ.startswith("kubernetes:")
        for i in [unwrap(r.inputs)]
    ]
    assert {o["kind"] for o in k8s_objects} >= {"Namespace", "ServiceAccount", "Deployment"}
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
    assert {"Deployment", "ServiceAccount", "Namespace", "Secret"} <= set(validated)


def _json_ready(value: Any) -> Any:
    """Mock inputs carry floats for ints (replicas: 1.0); the schema wants integers."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
