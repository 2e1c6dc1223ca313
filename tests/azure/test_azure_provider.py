"""The ``azure`` section through the component provider (the cross-language path): camelCase
inputs, nested model list, and the same Azure children as a Python call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pulumi
from azure_fakes import CLUSTER_NAME, RG, Recorder, unwrap

from aksml.package import component_provider
from startable import SCRIPT_ARGS

Install = Callable[..., Recorder]


@pulumi.runtime.test  # type: ignore[misc]
async def test_construct_with_azure_section(azure_mocks: Install, tmp_path: Path) -> None:
    (tmp_path / "model.pkl").write_bytes(b"pickle")
    rec = azure_mocks()
    inputs = {
        "entryScript": SCRIPT_ARGS["entry_script"],
        "codeInImage": SCRIPT_ARGS["code_in_image"],
        "computeTargetName": CLUSTER_NAME,
        "namespace": "ml",
        "collectModelData": True,
        "azure": {
            "resourceGroupName": RG,
            "models": [{"name": "churn", "version": 2, "path": str(tmp_path / "model.pkl")}],
            "grantDeployerBlobAccess": False,
        },
    }
    result = component_provider().construct(
        "iris", "aksml:index:AksWebservice", inputs, pulumi.ResourceOptions()
    )
    await result.urn.future()
    for _ in range(500):  # registrations finish asynchronously; bounded wait
        if any(r.typ == "kubernetes:apps/v1:Deployment" for r in rec.custom()):
            break
        await asyncio.sleep(0.01)
    names = {(r.typ, r.name) for r in rec.custom()}
    assert {
        ("azure-native:managedidentity:UserAssignedIdentity", "iris-azure-identity"),
        ("azure-native:storage:Blob", "iris-azure-model-churn/2/model.pkl"),
        ("azure-native:storage:BlobContainer", "iris-azure-modeldata"),
        ("pulumi:providers:kubernetes", "iris-azure-k8s"),
        ("kubernetes:core/v1:ServiceAccount", "iris-service-account"),
    } <= names
    assert not [n for t, n in names if n.endswith("deployer-models-contributor")]
    fic = next(r for r in rec.custom() if r.name == "iris-azure-federated")
    assert unwrap(fic.inputs)["subject"] == "system:serviceaccount:ml:iris"
