"""The pure plan with workload identity and blob models (what the azure section produces):
Blob CSI volumes mount with the identity's token, downloads use ``aksml.azure.fetch``; both
pod specs are schema-valid and carry no account key."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from aksml import contract
from aksml.plan import plan_webservice
from aksml.plan.settings import ModelRef, ModelSource
from aksml.v1 import deploy_configuration
from startable import scripted

CLIENT_ID = "11111111-2222-3333-4444-555555555555"
URL = "https://acct1.blob.core.windows.net/models/churn/2"


def _deployment(blobfuse: bool, client_id: str | None) -> dict[str, Any]:
    config = deploy_configuration(blobfuse_enabled=blobfuse, num_replicas=1).resolve()
    work = scripted(
        models=(ModelRef(name="churn", version="2", source=ModelSource.BLOB, url=URL),),
        workload_identity_client_id=client_id,
    )
    objs = plan_webservice("svc", config, work)
    deployment: dict[str, Any] = next(o for o in objs if o["kind"] == "Deployment")
    for version in ("1.30.0", "1.33.0"):
        kubernetes_validate.validate(deployment, version, strict=True)
    return deployment


def test_blob_csi_mount_uses_the_workload_identity_token() -> None:
    pod = _deployment(True, CLIENT_ID)["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if "csi" in v]
    assert volume["csi"]["volumeAttributes"] == {
        "containerName": "models",
        "storageAccount": "acct1",
        "clientID": CLIENT_ID,
        "mountWithWorkloadIdentityToken": "true",
    }
    assert "initContainers" not in pod


def test_download_with_workload_identity_uses_the_fetcher() -> None:
    deployment = _deployment(False, CLIENT_ID)
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["template"]["metadata"]["labels"]["azure.workload.identity/use"] == (
        "true"
    )
    (fetcher,) = pod["initContainers"]
    assert fetcher["name"] == "fetch-blob-models"
    assert fetcher["command"] == [
        "python",
        "-m",
        "aksml.azure.fetch",
        f"{contract.MODEL_ROOT_DIR}/churn/2",
        URL,
    ]
    assert {"name": "models", "mountPath": contract.MODEL_ROOT_DIR} in fetcher["volumeMounts"]
    assert {"name": "models", "emptyDir": {}} in pod["volumes"]


@pytest.mark.parametrize("blobfuse", [True, False])
def test_without_identity_the_plan_is_unchanged(blobfuse: bool) -> None:
    pod = _deployment(blobfuse, None)["spec"]["template"]["spec"]
    assert "clientID" not in repr(pod)
    names = [c["name"] for c in pod.get("initContainers", [])]
    assert names == ([] if blobfuse else ["fetch-models"])
