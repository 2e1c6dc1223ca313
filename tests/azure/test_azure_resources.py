"""``AzureServiceResources`` under Pulumi mocks: exact children, inputs, secrets, scopes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from azure_fakes import (
    CLUSTER_ID,
    CLUSTER_NAME,
    CONNECTION_STRING,
    DEPLOYER_OBJECT_ID,
    ISSUER,
    KUBECONFIG,
    RG,
    SUBSCRIPTION,
    UAI_CLIENT_ID,
    UAI_PRINCIPAL_ID,
    Recorder,
    is_wrapped_secret,
)
from pulumi_azure_native import containerservice

from aksml.azure import naming
from aksml.azure.resources import AzureServiceResources, AzureServiceResourcesArgs
from aksml.errors import WebserviceException

Install = Callable[..., Recorder]
COMPONENT = "aksml:index:AzureServiceResources"
READER = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/" + (
    naming.STORAGE_BLOB_DATA_READER
)
CONTRIBUTOR = (
    f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
    + (naming.STORAGE_BLOB_DATA_CONTRIBUTOR)
)


def _models(tmp_path: Path) -> list[dict[str, Any]]:
    folder = tmp_path / "churn"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.pkl").write_bytes(b"pickle")
    (folder / "sub" / "vocab.txt").write_text("a b")
    single = tmp_path / "onnx.onnx"
    single.write_bytes(b"onnx")
    return [
        {"name": "churn", "version": 2, "path": str(folder)},
        {"name": "ranker", "path": str(single)},
    ]


def _run(body: Callable[[], Any]) -> dict[str, Any]:
    """Run ``body`` inside the Pulumi runtime; return what it captured once every RPC settled."""
    captured: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[misc]
    async def wrapper() -> None:
        await _capture(body(), captured)

    wrapper()
    return captured


async def _capture(resource_and_probes: Any, captured: dict[str, Any]) -> None:
    comp, probes = resource_and_probes
    captured["component"] = comp
    for key, output in probes(comp).items():
        captured[key] = await output.future()
        captured[f"{key}.secret"] = await output.is_secret()
        captured[f"{key}.known"] = await output.is_known()


def _outputs(comp: AzureServiceResources) -> dict[str, pulumi.Output[Any]]:
    return {
        "cluster_id": comp.cluster_id,
        "oidc_issuer_url": comp.oidc_issuer_url,
        "client_id": comp.client_id,
        "principal_id": comp.principal_id,
        "conn": comp.app_insights_connection_string,
        "secret_name": comp.app_insights_secret_name,
        "account": comp.storage_account_name,
        "account_rg": comp.storage_resource_group_name,
        "model_container_url": comp.model_container_url,
        "model_blob_urls": comp.model_blob_urls,
        "model_volume": comp.model_volume,
        "data_url": comp.data_collection_blob_url,
    }


def _build(
    args: AzureServiceResourcesArgs, opts: pulumi.ResourceOptions | None = None
) -> Callable[[], tuple[AzureServiceResources, Any]]:
    def make() -> tuple[AzureServiceResources, Any]:
        return AzureServiceResources("ws", args, opts), _outputs

    return make


def _full_args(tmp_path: Path) -> AzureServiceResourcesArgs:
    return {
        "resource_group_name": RG,
        "location": "westeurope",
        "compute_target_name": CLUSTER_NAME,
        "namespace": "ml",
        "service_account_name": "ws",
        "enable_app_insights": True,
        "models": _models(tmp_path),  # type: ignore[typeddict-item]
        "collect_model_data": True,
        "tags": {"team": "ml"},
    }


def test_everything_on_creates_exactly_these_children(azure_mocks: Install, tmp_path: Path) -> None:
    rec = azure_mocks()
    got = _run(_build(_full_args(tmp_path)))
    account = naming.storage_account_name("ws", "aksml-test/dev")

    children = sorted((r.typ, r.name) for r in rec.custom())
    assert children == sorted(
        [
            ("pulumi:providers:kubernetes", "ws-k8s"),
            ("azure-native:managedidentity:UserAssignedIdentity", "ws-identity"),
            ("azure-native:managedidentity:FederatedIdentityCredential", "ws-federated"),
            ("azure-native:operationalinsights:Workspace", "ws-logs"),
            ("azure-native:applicationinsights:Component", "ws-appinsights"),
            ("kubernetes:core/v1:Secret", "ws-appinsights"),
            ("azure-native:storage:StorageAccount", "ws-storage"),
            ("azure-native:storage:BlobContainer", "ws-models"),
            ("azure-native:storage:BlobContainer", "ws-modeldata"),
            ("azure-native:authorization:RoleAssignment", "ws-models-reader"),
            ("azure-native:authorization:RoleAssignment", "ws-deployer-models-contributor"),
            ("azure-native:authorization:RoleAssignment", "ws-modeldata-contributor"),
            ("azure-native:storage:Blob", "ws-model-churn/2/model.pkl"),
            ("azure-native:storage:Blob", "ws-model-churn/2/sub/vocab.txt"),
            ("azure-native:storage:Blob", "ws-model-ranker/1/onnx.onnx"),
        ]
    )
    # every child is parented to the component
    for r in rec.custom():
        assert f"::{COMPONENT}$" in rec.urn_of(r.typ, r.name), r.name
    assert [r.name for r in rec.resources if r.typ == COMPONENT] == ["ws"]

    # outputs
    assert got["cluster_id"] == CLUSTER_ID
    assert got["oidc_issuer_url"] == ISSUER
    assert got["client_id"] == UAI_CLIENT_ID
    assert got["conn"] == CONNECTION_STRING and got["conn.secret"] is True
    assert got["secret_name"] == "ws-appinsights"
    assert got["account"] == account and got["account_rg"] == RG
    endpoint = f"https://{account}.blob.core.windows.net"
    assert got["model_container_url"] == f"{endpoint}/models"
    assert got["model_blob_urls"] == {
        "churn/2/model.pkl": f"{endpoint}/models/churn/2/model.pkl",
        "churn/2/sub/vocab.txt": f"{endpoint}/models/churn/2/sub/vocab.txt",
        "ranker/1/onnx.onnx": f"{endpoint}/models/ranker/1/onnx.onnx",
    }
    assert got["model_volume"] == naming.blob_csi_volume(
        "azure-models", account, "models", UAI_CLIENT_ID, RG
    )
    assert got["data_url"] == f"{endpoint}/modeldata"
    for key in ("client_id", "model_blob_urls", "data_url", "model_volume"):
        assert got[f"{key}.secret"] is False, key


def test_kubernetes_provider_from_user_credentials(azure_mocks: Install, tmp_path: Path) -> None:
    rec = azure_mocks()
    _run(_build(_full_args(tmp_path)))
    provider = rec.one("pulumi:providers:kubernetes", "ws-k8s")
    assert is_wrapped_secret(provider.inputs["kubeconfig"])
    assert rec.inputs("pulumi:providers:kubernetes", "ws-k8s")["kubeconfig"] == KUBECONFIG
    assert provider.inputs["clusterIdentifier"] == CLUSTER_ID
    creds = [c for c in rec.calls if c.token.endswith(":listManagedClusterUserCredentials")]
    assert [dict(c.args) for c in creds] == [
        {"resourceGroupName": RG, "resourceName": CLUSTER_NAME}
    ]
    # Kubernetes children use that provider; Azure children do not
    secret = rec.one("kubernetes:core/v1:Secret", "ws-appinsights")
    assert secret.provider is not None and "pulumi:providers:kubernetes::ws-k8s" in secret.provider
    identity = rec.one("azure-native:managedidentity:UserAssignedIdentity", "ws-identity")
    assert not identity.provider or "ws-k8s" not in identity.provider


def test_workload_identity_and_least_privilege_roles(azure_mocks: Install, tmp_path: Path) -> None:
    rec = azure_mocks()
    _run(_build(_full_args(tmp_path)))
    account = naming.storage_account_name("ws", "aksml-test/dev")
    account_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/Microsoft.Storage/"
        f"storageAccounts/{account}"
    )

    assert rec.inputs("azure-native:managedidentity:UserAssignedIdentity", "ws-identity") == {
        "resourceGroupName": RG,
        "location": "westeurope",
        "tags": {"team": "ml"},
    }
    assert rec.inputs(
        "azure-native:managedidentity:FederatedIdentityCredential", "ws-federated"
    ) == {
        "resourceGroupName": RG,
        "resourceName": "ws-identity",
        "issuer": ISSUER,
        "subject": "system:serviceaccount:ml:ws",
        "audiences": ["api://AzureADTokenExchange"],
    }
    roles = {
        r.name: unwrap_inputs
        for r in rec.of_type("azure-native:authorization:RoleAssignment")
        if (unwrap_inputs := rec.inputs(r.typ, r.name))
    }
    containers = f"{account_id}/blobServices/default/containers"
    assert roles == {
        "ws-models-reader": {
            "principalId": UAI_PRINCIPAL_ID,
            "principalType": "ServicePrincipal",
            "roleDefinitionId": READER,
            "scope": f"{containers}/models",
        },
        "ws-modeldata-contributor": {
            "principalId": UAI_PRINCIPAL_ID,
            "principalType": "ServicePrincipal",
            "roleDefinitionId": CONTRIBUTOR,
            "scope": f"{containers}/modeldata",
        },
        "ws-deployer-models-contributor": {
            "principalId": DEPLOYER_OBJECT_ID,
            "principalType": "User",
            "roleDefinitionId": CONTRIBUTOR,
            "scope": f"{containers}/models",
        },
    }


def test_storage_without_shared_keys_and_blobs_from_files(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    _run(_build(_full_args(tmp_path)))
    account = naming.storage_account_name("ws", "aksml-test/dev")
    assert rec.inputs("azure-native:storage:StorageAccount", "ws-storage") == {
        "accountName": account,
        "resourceGroupName": RG,
        "location": "westeurope",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "allowSharedKeyAccess": False,
        "allowBlobPublicAccess": False,
        "defaultToOAuthAuthentication": True,
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "tags": {"team": "ml"},
    }
    for container in ("models", "modeldata"):
        assert rec.inputs("azure-native:storage:BlobContainer", f"ws-{container}") == {
            "accountName": account,
            "resourceGroupName": RG,
            "containerName": container,
            "publicAccess": "None",
        }
    blob = rec.inputs("azure-native:storage:Blob", "ws-model-churn/2/sub/vocab.txt")
    source = blob.pop("source")
    assert blob == {
        "accountName": account,
        "resourceGroupName": RG,
        "containerName": "models",
        "blobName": "churn/2/sub/vocab.txt",
        "type": "Block",
    }
    assert isinstance(source, pulumi.FileAsset)
    assert Path(source.path) == tmp_path / "churn" / "sub" / "vocab.txt"
    # no account key is ever listed or passed anywhere
    assert all("Keys" not in c.token and "Sas" not in c.token for c in rec.calls)
    dumped = json.dumps([rec.inputs(r.typ, r.name) for r in rec.custom()], default=str).lower()
    for word in ("accountkey", "sharedaccesssignature", "sig="):
        assert word not in dumped


def test_app_insights_secret_is_secret_and_workspace_based(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    _run(_build(_full_args(tmp_path)))
    assert rec.inputs("azure-native:operationalinsights:Workspace", "ws-logs") == {
        "resourceGroupName": RG,
        "location": "westeurope",
        "sku": {"name": "PerGB2018"},
        "retentionInDays": 30,
        "tags": {"team": "ml"},
    }
    workspace_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/"
        "Microsoft.OperationalInsights/workspaces/ws-logs"
    )
    assert rec.inputs("azure-native:applicationinsights:Component", "ws-appinsights") == {
        "resourceGroupName": RG,
        "location": "westeurope",
        "kind": "web",
        "applicationType": "web",
        "ingestionMode": "LogAnalytics",
        "workspaceResourceId": workspace_id,
        "tags": {"team": "ml"},
        # defaults the azure-native SDK fills in
        "flowType": "Bluefield",
        "publicNetworkAccessForIngestion": "Enabled",
        "publicNetworkAccessForQuery": "Enabled",
        "requestSource": "rest",
    }
    secret = rec.one("kubernetes:core/v1:Secret", "ws-appinsights")
    assert is_wrapped_secret(secret.inputs["stringData"])
    assert rec.inputs("kubernetes:core/v1:Secret", "ws-appinsights") == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ws-appinsights", "namespace": "ml"},
        "type": "Opaque",
        "stringData": {"connectionString": CONNECTION_STRING},
    }


def test_nothing_requested_creates_nothing(azure_mocks: Install) -> None:
    rec = azure_mocks()
    got = _run(_build({"resource_group_name": RG}))
    assert rec.custom() == []
    assert rec.calls == []
    assert got["component"].kubernetes_provider is None
    for key in ("cluster_id", "client_id", "conn", "account", "data_url", "model_volume"):
        assert got[key] is None, key
    assert got["model_blob_urls"] == {}


def test_app_insights_only_with_existing_workspace(azure_mocks: Install) -> None:
    rec = azure_mocks()
    workspace = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/shared/providers/x/workspaces/w"
    got = _run(
        _build(
            {
                "resource_group_name": RG,
                "namespace": "ml",
                "enable_app_insights": True,
                "log_analytics_workspace_id": workspace,
                "app_insights_secret_name": "custom-ai",
            }
        )
    )
    assert sorted((r.typ, r.name) for r in rec.custom()) == [
        ("azure-native:applicationinsights:Component", "ws-appinsights"),
        ("kubernetes:core/v1:Secret", "ws-appinsights"),
    ]
    component = rec.inputs("azure-native:applicationinsights:Component", "ws-appinsights")
    assert component["workspaceResourceId"] == workspace
    assert rec.inputs("kubernetes:core/v1:Secret", "ws-appinsights")["metadata"]["name"] == (
        "custom-ai"
    )
    assert got["secret_name"] == "custom-ai" and got["conn.secret"] is True
    assert got["client_id"] is None


def test_existing_storage_account_is_used_not_created(azure_mocks: Install, tmp_path: Path) -> None:
    rec = azure_mocks()
    existing = (
        "/subscriptions/sub-data/resourceGroups/rg-data/providers/Microsoft.Storage/"
        "storageAccounts/shared1"
    )
    got = _run(
        _build(
            {
                "resource_group_name": RG,
                "compute_target_name": CLUSTER_NAME,
                "cluster_resource_group_name": "rg-aks",
                "namespace": "ml",
                "service_account_name": "ws",
                "storage_account_id": existing,
                "model_container_name": "ws-models",
                "models": _models(tmp_path)[1:],  # type: ignore[typeddict-item]
                "grant_deployer_blob_access": False,
            }
        )
    )
    assert rec.of_type("azure-native:storage:StorageAccount") == []
    assert rec.inputs("azure-native:storage:BlobContainer", "ws-models") == {
        "accountName": "shared1",
        "resourceGroupName": "rg-data",
        "containerName": "ws-models",
        "publicAccess": "None",
    }
    assert [r.name for r in rec.of_type("azure-native:authorization:RoleAssignment")] == [
        "ws-models-reader"
    ]
    reader = rec.inputs("azure-native:authorization:RoleAssignment", "ws-models-reader")
    assert reader["scope"] == f"{existing}/blobServices/default/containers/ws-models"
    assert reader["roleDefinitionId"].startswith("/subscriptions/sub-data/")
    assert [c.token for c in rec.calls if c.token.endswith("getClientConfig")] == []
    lookups = [dict(c.args) for c in rec.calls if c.token.endswith(":getManagedCluster")]
    assert lookups == [{"resourceGroupName": "rg-aks", "resourceName": CLUSTER_NAME}]
    assert got["account"] == "shared1" and got["account_rg"] == "rg-data"
    assert got["data_url"] is None


def test_stack_provider_through_opts_takes_precedence(azure_mocks: Install) -> None:
    rec = azure_mocks()

    def make() -> tuple[AzureServiceResources, Any]:
        own = k8s.Provider("mine", kubeconfig="apiVersion: v1\nclusters: []\n")
        comp = AzureServiceResources(
            "ws",
            {
                "resource_group_name": RG,
                "compute_target_name": CLUSTER_NAME,
                "namespace": "ml",
                "enable_app_insights": True,
            },
            pulumi.ResourceOptions(providers={"kubernetes": own}),
        )
        return comp, _outputs

    got = _run(make)
    assert got["component"].kubernetes_provider is None
    assert [r.name for r in rec.of_type("pulumi:providers:kubernetes")] == ["mine"]
    assert not [c for c in rec.calls if c.token.endswith(":listManagedClusterUserCredentials")]
    secret = rec.one("kubernetes:core/v1:Secret", "ws-appinsights")
    assert secret.provider is not None and "pulumi:providers:kubernetes::mine" in secret.provider
    # nothing needs the cluster (no provider, no identity): it is not even looked up
    assert rec.calls == [] and got["cluster_id"] is None


def test_cluster_in_same_program_preview_registers_every_child(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks(preview=True, unknown_cluster=True)

    def make() -> tuple[AzureServiceResources, Any]:
        cluster = containerservice.ManagedCluster(
            "aks",
            resource_group_name=RG,
            dns_prefix="aks",
            oidc_issuer_profile={"enabled": True},
            security_profile={"workload_identity": {"enabled": True}},
        )
        args = _full_args(tmp_path)
        del args["compute_target_name"]
        args["cluster"] = cluster
        return AzureServiceResources("ws", args), lambda c: {
            "cluster_id": c.cluster_id,
            "oidc_issuer_url": c.oidc_issuer_url,
            "client_id": c.client_id,
        }

    got = _run(make)
    names = sorted((r.typ, r.name) for r in rec.custom() if r.name != "aks")
    assert len(names) == 15
    assert ("pulumi:providers:kubernetes", "ws-k8s") in names
    assert ("azure-native:managedidentity:FederatedIdentityCredential", "ws-federated") in names
    assert got["cluster_id.known"] is False
    assert got["oidc_issuer_url.known"] is False
    # the credentials invoke cannot run before the cluster exists
    assert not [c for c in rec.calls if c.token.endswith(":listManagedClusterUserCredentials")]


def test_cluster_in_same_program_update_uses_its_id_and_issuer(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()

    def make() -> tuple[AzureServiceResources, Any]:
        cluster = containerservice.ManagedCluster("aks", resource_group_name=RG, dns_prefix="aks")
        return AzureServiceResources(
            "ws",
            {
                "resource_group_name": RG,
                "cluster": cluster,
                "namespace": "ml",
                "service_account_name": "ws",
                "workload_identity_enabled": True,
            },
        ), _outputs

    got = _run(make)
    assert got["cluster_id"] == CLUSTER_ID and got["oidc_issuer_url"] == ISSUER
    assert rec.one("pulumi:providers:kubernetes", "ws-k8s").inputs["clusterIdentifier"] == (
        CLUSTER_ID
    )
    creds = [dict(c.args) for c in rec.calls if c.token.endswith("UserCredentials")]
    assert creds == [{"resourceGroupName": RG, "resourceName": CLUSTER_NAME}]
    assert rec.of_type("azure-native:storage:StorageAccount") == []
    assert got["client_id"] == UAI_CLIENT_ID


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"collect_model_data": True, "namespace": "ml", "service_account_name": "ws"},
            "needs the AKS cluster's OIDC issuer",
        ),
        (
            {"compute_target_name": CLUSTER_NAME, "collect_model_data": True},
            "needs namespace and service_account_name",
        ),
        ({"enable_app_insights": True}, "enable_app_insights needs namespace"),
        (
            {
                "compute_target_name": "a",
                "cluster_resource_group_name": "b",
                "model_container_name": "modeldata",
            },
            "must differ from 'modeldata'",
        ),
        ({"model_container_name": "Bad_Name"}, "Invalid blob container name"),
        ({"deployer_principal_type": "Robot"}, "Invalid deployer_principal_type"),
        ({"storage_account_name": "has-dash"}, "Invalid storage_account_name"),
    ],
)
def test_invalid_args_fail_before_any_child(
    azure_mocks: Install, args: dict[str, Any], message: str
) -> None:
    rec = azure_mocks()
    with pytest.raises(WebserviceException, match=message):
        _run(_build({"resource_group_name": RG, **args}))  # type: ignore[typeddict-item]
    assert rec.custom() == []


def test_component_schema_infers_from_args_and_annotations() -> None:
    from pulumi.provider.experimental.component import ComponentProvider

    schema = json.loads(ComponentProvider([AzureServiceResources], "aksml", version="0.1.0").schema)
    resource = schema["resources"][COMPONENT]
    assert resource["requiredInputs"] == ["resourceGroupName"]
    assert resource["inputProperties"]["cluster"]["$ref"].endswith(
        "#/resources/azure-native:containerservice:ManagedCluster"
    )
    assert all(p.get("description") for p in resource["inputProperties"].values())
    assert sorted(resource["properties"]) == [
        "appInsightsConnectionString",
        "appInsightsSecretName",
        "clientId",
        "clusterId",
        "dataCollectionBlobUrl",
        "imageRef",
        "imageRefs",
        "kubernetesProvider",
        "modelBlobUrls",
        "modelContainerUrl",
        "modelVolume",
        "oidcIssuerUrl",
        "principalId",
        "registryId",
        "registryLoginServer",
        "storageAccountName",
        "storageResourceGroupName",
        "tenantId",
        "tokenApplicationClientId",
        "tokenAudience",
        "tokenIssuer",
    ]
    for typ, fields in [
        ("AzureImageArgs", {"registryId", "pushCredentials", "grantAcrPull"}),
        ("ImageSourceArgs", {"sourceDirectory", "entryScript", "pipRequirements"}),
        ("TokenAuthApplicationArgs", {"identifierUri", "tenantId"}),
    ]:
        properties = schema["types"][f"aksml:index:{typ}"]["properties"]
        assert fields <= set(properties)
        assert all(p.get("description") for p in properties.values())
    model = schema["types"]["aksml:index:AzureModelArgs"]
    assert sorted(model["properties"]) == ["name", "path", "version", "versions"]


def test_cluster_id_is_parsed_for_lookups(azure_mocks: Install) -> None:
    rec = azure_mocks()
    got = _run(
        _build(
            {
                "resource_group_name": "rg-other",
                "cluster_id": CLUSTER_ID,
                "namespace": "ml",
                "service_account_name": "ws",
                "workload_identity_enabled": True,
            }
        )
    )
    lookups = [(c.token.rsplit(":", 1)[1], dict(c.args)) for c in rec.calls]
    expected = {"resourceGroupName": RG, "resourceName": CLUSTER_NAME}
    assert sorted(lookups, key=lambda t: t[0]) == [
        ("getManagedCluster", expected),
        ("listManagedClusterUserCredentials", expected),
    ]
    assert got["oidc_issuer_url"] == ISSUER
    assert rec.one("pulumi:providers:kubernetes", "ws-k8s").inputs["clusterIdentifier"] == (
        CLUSTER_ID
    )


def test_cluster_id_unknown_in_preview_makes_no_lookup(azure_mocks: Install) -> None:
    rec = azure_mocks(preview=True, unknown_cluster=True)

    def make() -> tuple[AzureServiceResources, Any]:
        cluster = containerservice.ManagedCluster("aks", resource_group_name=RG, dns_prefix="aks")
        comp = AzureServiceResources(
            "ws",
            {
                "resource_group_name": RG,
                "cluster_id": cluster.id,
                "namespace": "ml",
                "service_account_name": "ws",
                "collect_model_data": True,
            },
        )
        return comp, lambda c: {"oidc_issuer_url": c.oidc_issuer_url}

    got = _run(make)
    assert rec.calls == []
    assert got["oidc_issuer_url.known"] is False
    assert sorted(r.name for r in rec.custom() if r.name != "aks") == [
        "ws-federated",
        "ws-identity",
        "ws-k8s",
        "ws-modeldata",
        "ws-modeldata-contributor",
        "ws-storage",
    ]
