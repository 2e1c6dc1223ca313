"""``AksWebservice`` with an ``azure`` section: the Azure child, and what it injects into the
Kubernetes objects (provider, ServiceAccount annotation, pod label, env, model volumes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from azure_fakes import (
    CLUSTER_NAME,
    CONNECTION_STRING,
    RG,
    UAI_CLIENT_ID,
    Recorder,
    is_wrapped_secret,
    unwrap,
)

from aksml import contract
from aksml.azure import naming
from aksml.components.webservice import AksWebservice
from aksml.errors import WebserviceException
from aksml.plan.metadata import (
    WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION,
    WORKLOAD_IDENTITY_USE_LABEL,
)
from startable import SCRIPT_ARGS, script_args

Install = Callable[..., Recorder]
WS = "aksml:index:AksWebservice"
AZ = "aksml:index:AzureServiceResources"
ACCOUNT = naming.storage_account_name("iris-azure", "aksml-test/dev")
ENDPOINT = f"https://{ACCOUNT}.blob.core.windows.net"


def _models(tmp_path: Path) -> list[dict[str, Any]]:
    folder = tmp_path / "churn"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"pickle")
    return [{"name": "churn", "version": 2, "path": str(folder)}]


def _make(args: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> AksWebservice:
    captured: dict[str, AksWebservice] = {}

    @pulumi.runtime.test  # type: ignore[misc]
    def body() -> pulumi.Output[Any]:
        iris = AksWebservice("iris", script_args(**args), opts)  # type: ignore[arg-type]
        captured["iris"] = iris
        return iris.scoring_uri

    body()
    return captured["iris"]


def _k8s(rec: Recorder, kind: str) -> Any:
    found = [r for r in rec.custom() if r.typ.endswith(f":{kind}")]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def _pod(rec: Recorder) -> dict[str, Any]:
    spec: dict[str, Any] = unwrap(_k8s(rec, "Deployment").inputs)["spec"]["template"]
    return spec


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_azure_section_creates_child_and_injects_identity_env_and_models(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    _make(
        {
            "compute_target_name": CLUSTER_NAME,
            "namespace": "ml",
            "enable_app_insights": True,
            "collect_model_data": True,
            "blobfuse_enabled": False,
            "azure": {"resource_group_name": RG, "models": _models(tmp_path)},
        }
    )
    azure = [r for r in rec.resources if r.typ == AZ]
    assert [r.name for r in azure] == ["iris-azure"]
    assert f"::{WS}${AZ}::iris-azure" in rec.urn_of(AZ, "iris-azure")
    # the Azure side
    fic = rec.inputs(
        "azure-native:managedidentity:FederatedIdentityCredential", "iris-azure-federated"
    )
    assert fic["subject"] == "system:serviceaccount:ml:iris"
    assert rec.of_type("azure-native:storage:Blob")[0].inputs["blobName"] == "churn/2/model.pkl"
    # the plan's own App Insights Secret holds the connection string; the child makes none
    secrets = {r.name: r for r in rec.custom() if r.typ == "kubernetes:core/v1:Secret"}
    assert sorted(secrets) == ["iris-app-insights", "iris-keys"]
    assert is_wrapped_secret(secrets["iris-app-insights"].inputs["stringData"])
    assert unwrap(secrets["iris-app-insights"].inputs["stringData"]) == {
        "connectionString": CONNECTION_STRING
    }
    # ServiceAccount annotation and pod label
    sa = unwrap(_k8s(rec, "ServiceAccount").inputs)
    assert sa["metadata"]["name"] == "iris"
    assert sa["metadata"]["annotations"][WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION] == (UAI_CLIENT_ID)
    template = _pod(rec)
    assert template["metadata"]["labels"][WORKLOAD_IDENTITY_USE_LABEL] == "true"
    pod = template["spec"]
    assert pod["serviceAccountName"] == "iris"
    scoring = next(c for c in pod["containers"] if c["name"] != "model")
    env = _env(scoring)
    assert env[contract.APP_INSIGHTS_CONNECTION_STRING_ENV] == {
        "secretKeyRef": {"name": "iris-appinsights", "key": "connectionString"}
    }
    assert env[contract.DATA_COLLECTION_BLOB_URL.env] == f"{ENDPOINT}/modeldata"
    assert env[contract.MODEL_DIR.env] == f"{contract.MODEL_ROOT_DIR}/churn/2"
    fetchers = [c for c in pod["initContainers"] if c["name"] == "fetch-blob-models"]
    assert len(fetchers) == 1
    assert fetchers[0]["command"] == [
        "python",
        "-m",
        "aksml.azure.fetch",
        f"{contract.MODEL_ROOT_DIR}/churn/2",
        f"{ENDPOINT}/models/churn/2",
    ]
    # every Kubernetes child uses the provider built from the cluster credentials
    for r in rec.custom():
        if r.typ.startswith("kubernetes:"):
            assert r.provider and "pulumi:providers:kubernetes::iris-azure-k8s" in r.provider, (
                r.name
            )


def test_blobfuse_mounts_models_with_workload_identity(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    _make(
        {
            "compute_target_name": CLUSTER_NAME,
            "azure": {"resource_group_name": RG, "models": _models(tmp_path)},
        }
    )
    pod = _pod(rec)["spec"]
    assert "initContainers" not in pod or not [
        c for c in pod["initContainers"] if "fetch" in c["name"]
    ]
    csi = [v for v in pod["volumes"] if "csi" in v]
    assert csi == [
        {
            "name": "model-blob-0",
            "csi": {
                "driver": "blob.csi.azure.com",
                "readOnly": True,
                "volumeAttributes": {
                    "containerName": "models",
                    "storageAccount": ACCOUNT,
                    "clientID": UAI_CLIENT_ID,
                    "mountWithWorkloadIdentityToken": "true",
                },
            },
        }
    ]
    scoring = pod["containers"][0]
    mounts = [m for m in scoring["volumeMounts"] if m["name"] == "model-blob-0"]
    assert mounts == [
        {
            "name": "model-blob-0",
            "mountPath": f"{contract.MODEL_ROOT_DIR}/churn/2",
            "readOnly": True,
            "subPath": "churn/2",
        }
    ]
    assert "secretName" not in repr(csi) and "accountkey" not in repr(csi).lower()


def test_stack_provider_wins_over_cluster_credentials(azure_mocks: Install) -> None:
    rec = azure_mocks()

    @pulumi.runtime.test  # type: ignore[misc]
    def body() -> pulumi.Output[Any]:
        mine = k8s.Provider("mine", kubeconfig="apiVersion: v1\nclusters: []\n")
        iris = AksWebservice(
            "iris",
            {
                **SCRIPT_ARGS,
                "compute_target_name": CLUSTER_NAME,
                "enable_app_insights": True,
                "azure": {"resource_group_name": RG},
            },
            pulumi.ResourceOptions(providers={"kubernetes": mine}),
        )
        return iris.scoring_uri

    body()
    assert [r.name for r in rec.of_type("pulumi:providers:kubernetes")] == ["mine"]
    assert not [c for c in rec.calls if c.token.endswith("UserCredentials")]
    for r in rec.custom():
        if r.typ.startswith("kubernetes:"):
            assert r.provider and "pulumi:providers:kubernetes::mine" in r.provider, r.name
    # no identity was asked for: no ServiceAccount annotation, no pod label
    assert rec.of_type("azure-native:managedidentity:UserAssignedIdentity") == []
    assert WORKLOAD_IDENTITY_USE_LABEL not in _pod(rec)["metadata"]["labels"]


def test_provider_from_credentials_can_be_turned_off(azure_mocks: Install) -> None:
    rec = azure_mocks()
    _make(
        {
            "compute_target_name": CLUSTER_NAME,
            "azure": {"resource_group_name": RG, "kubernetes_provider_enabled": False},
        }
    )
    assert rec.of_type("pulumi:providers:kubernetes") == []
    assert rec.calls == []


def test_explicit_client_id_and_azure_identity_conflict(azure_mocks: Install) -> None:
    rec = azure_mocks()
    with pytest.raises(WebserviceException, match="workload_identity_client_id or the azure"):
        _make(
            {
                "compute_target_name": CLUSTER_NAME,
                "collect_model_data": True,
                "workload_identity_client_id": "00000000-0000-0000-0000-000000000009",
                "azure": {"resource_group_name": RG},
            }
        )
    assert rec.of_type("azure-native:managedidentity:UserAssignedIdentity") == []


def test_without_azure_section_nothing_azure_is_imported_or_created(azure_mocks: Install) -> None:
    rec = azure_mocks()
    _make({"namespace": "ml"})
    assert [
        r for r in rec.custom() if r.typ.startswith(("azure-native:", "pulumi:providers"))
    ] == []
    assert not [r for r in rec.resources if r.typ == AZ]
