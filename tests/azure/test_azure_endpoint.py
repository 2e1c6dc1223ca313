"""``AksEndpoint`` with an ``azure`` section: one set of Azure resources shared by every
version (identity federated with each version's service account, App Insights, storage)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
from azure_fakes import (
    CLUSTER_NAME,
    CONNECTION_STRING,
    IMAGE_DIGEST,
    ISSUER,
    KUBELET_OBJECT_ID,
    RG,
    UAI_CLIENT_ID,
    Recorder,
    unwrap,
)

from aksml import contract
from aksml.azure import naming
from aksml.components.endpoint import AksEndpoint
from aksml.errors import WebserviceException
from aksml.plan.metadata import (
    WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION,
    WORKLOAD_IDENTITY_USE_LABEL,
)
from startable import script_args

Install = Callable[..., Recorder]
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"


def _model(tmp_path: Path) -> str:
    folder = tmp_path / "churn-v2"
    folder.mkdir()
    (folder / "weights.json").write_text("{}")
    return str(folder)


def _endpoint(args: dict[str, Any]) -> None:
    @pulumi.runtime.test  # type: ignore[misc]
    def body() -> pulumi.Output[Any]:
        versions = [script_args(**v) for v in args["versions"]]
        return AksEndpoint("churn", {**args, "versions": versions}).scoring_uri  # type: ignore[arg-type]

    body()


def _args(tmp_path: Path, **azure: Any) -> dict[str, Any]:
    return {
        "compute_target_name": CLUSTER_NAME,
        "namespace": "ml",
        "enable_app_insights": True,
        "exposure": "ingress",
        "versions": [
            {"version_name": "blue", "is_default": True, "traffic_percentile": 80},
            {
                "version_name": "green",
                "traffic_percentile": 20,
                "collect_model_data": True,
                "blobfuse_enabled": False,
            },
        ],
        "azure": {
            "resource_group_name": RG,
            "models": [
                {"name": "churn", "version": 2, "path": _model(tmp_path), "versions": ["green"]}
            ],
            **azure,
        },
    }


def _version_objects(rec: Recorder, kind: str) -> dict[str, dict[str, Any]]:
    found = {}
    for r in rec.custom():
        if r.typ.endswith(f":{kind}"):
            obj = unwrap(r.inputs)
            found[obj["metadata"]["name"]] = obj
    return found


def _env(obj: dict[str, Any]) -> dict[str, Any]:
    container = obj["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_versions_share_one_identity_app_insights_and_storage(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    _endpoint(_args(tmp_path))
    # one Azure child for the endpoint, one of each shared resource
    assert len(rec.of_type("aksml:index:AzureServiceResources")) == 1
    for typ in (
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:applicationinsights:Component",
        "azure-native:storage:StorageAccount",
        "azure-native:storage:BlobContainer",
        "pulumi:providers:kubernetes",
    ):
        assert len(rec.of_type(typ)) == (2 if typ.endswith("BlobContainer") else 1), typ
    # the identity trusts each version's service account, one credential each
    subjects = {r.name: unwrap(r.inputs) for r in rec.of_type(FEDERATED)}
    assert {n: (c["subject"], c["issuer"]) for n, c in subjects.items()} == {
        "churn-azure-federated": ("system:serviceaccount:ml:churn-blue", ISSUER),
        "churn-azure-federated-churn-green": ("system:serviceaccount:ml:churn-green", ISSUER),
    }
    accounts = _version_objects(rec, "ServiceAccount")
    assert sorted(accounts) == ["churn-blue", "churn-green"]
    for account in accounts.values():
        annotations = account["metadata"]["annotations"]
        assert annotations[WORKLOAD_IDENTITY_CLIENT_ID_ANNOTATION] == UAI_CLIENT_ID

    deployments = _version_objects(rec, "Deployment")
    blue, green = deployments["churn-blue"], deployments["churn-green"]
    for deployment in (blue, green):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert labels[WORKLOAD_IDENTITY_USE_LABEL] == "true"
        assert contract.APP_INSIGHTS_CONNECTION_STRING_ENV in _env(deployment)
    # data collection only where the version asks for it
    account = naming.storage_account_name("churn-azure", "aksml-test/dev")
    assert _env(green)[contract.DATA_COLLECTION_BLOB_URL.env] == (
        f"https://{account}.blob.core.windows.net/modeldata"
    )
    assert contract.DATA_COLLECTION_BLOB_URL.env not in _env(blue)
    # the uploaded model goes to the versions it names (green fetches it with its identity)
    green_init = [c["name"] for c in green["spec"]["template"]["spec"]["initContainers"]]
    assert green_init == ["fetch-blob-models"]
    assert "initContainers" not in blue["spec"]["template"]["spec"]
    secrets = [
        s
        for s in _version_objects(rec, "Secret").values()
        if "connectionString" in s.get("stringData", {})
    ]
    assert secrets and all(
        s["stringData"]["connectionString"] == CONNECTION_STRING for s in secrets
    )


def test_endpoint_token_application(azure_mocks: Install) -> None:
    rec = azure_mocks()
    _endpoint(
        {
            "namespace": "ml",
            "auth_enabled": False,
            "token_auth_enabled": True,
            "versions": [{"version_name": "blue"}],
            "azure": {"resource_group_name": RG, "token_auth_application": {}},
        }
    )
    app = rec.inputs("azuread:index/application:Application", "churn-azure-app")
    assert app["identifierUris"] == ["api://churn"]
    env = _env(_version_objects(rec, "Deployment")["churn-blue"])
    assert env[contract.TOKEN_AUDIENCE.env].endswith(",api://churn")
    assert env[contract.TOKEN_ISSUER.env].startswith("https://login.microsoftonline.com/")
    # nothing else Azure: no identity, storage or App Insights was asked for
    assert [r.typ for r in rec.custom() if r.typ.startswith("azure")] == [
        "azuread:index/application:Application"
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": {}}, "needs at least one version with entry_script"),
        ({"models": [{"name": "m", "path": ".", "versions": ["red"]}]}, "unknown versions: red"),
    ],
)
def test_endpoint_azure_refusals_register_no_azure_resource(
    azure_mocks: Install, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    rec = azure_mocks()
    args = _args(tmp_path)
    args["azure"].update(change)
    with pytest.raises(WebserviceException, match=message):
        _endpoint(args)
    assert not [r for r in rec.resources if r.typ.startswith("azure-native")]


def test_endpoint_version_with_its_own_client_id_conflicts(
    azure_mocks: Install, tmp_path: Path
) -> None:
    azure_mocks()
    args = _args(tmp_path)
    args["versions"][0]["workload_identity_client_id"] = "given"
    with pytest.raises(WebserviceException, match="version 'blue': give either"):
        _endpoint(args)


def test_webservice_refuses_model_versions(azure_mocks: Install, tmp_path: Path) -> None:
    from aksml.components.webservice import AksWebservice

    azure_mocks()

    @pulumi.runtime.test  # type: ignore[misc]
    def body() -> None:
        AksWebservice(
            "iris",
            {
                "compute_target_name": CLUSTER_NAME,
                "azure": {
                    "resource_group_name": RG,
                    "models": [{"name": "m", "path": _model(tmp_path), "versions": ["a"]}],
                },
            },
        )

    with pytest.raises(WebserviceException, match="for AksEndpoint only"):
        body()


def test_endpoint_builds_one_image_per_version_with_code_into_one_registry(
    azure_mocks: Install, tmp_path: Path
) -> None:
    rec = azure_mocks()
    src = tmp_path / "blue-src"
    src.mkdir()
    (src / "score.py").write_text("def init():\n    pass\n\ndef run(d):\n    return d\n")
    args = _args(tmp_path, image={})
    args["versions"][0] |= {
        "entry_script": "score.py",
        "source_directory": str(src),
        "environment": {"pip_requirements": ["numpy"]},
    }
    args["versions"][1]["image"] = "example.azurecr.io/green:1"
    _endpoint(args)
    images_built = rec.of_type("docker-build:index:Image")
    assert [r.name for r in images_built] == ["churn-azure-image-blue"]
    assert len(rec.of_type("azure-native:containerregistry:Registry")) == 1
    built = unwrap(images_built[0].inputs)
    assert "numpy\nAKSML_REQUIREMENTS" in built["dockerfile"]["inline"]
    (tag,) = built["tags"]
    assert "/churn/blue:" in tag
    deployments = _version_objects(rec, "Deployment")
    blue = deployments["churn-blue"]["spec"]["template"]["spec"]
    green = deployments["churn-green"]["spec"]["template"]["spec"]
    assert blue["containers"][0]["image"] == f"{tag}@{IMAGE_DIGEST}"
    assert "initContainers" not in blue  # no pip install at start
    assert green["containers"][0]["image"] == "example.azurecr.io/green:1"
    assert _env(deployments["churn-blue"])[contract.ENTRY_SCRIPT.env] == "blue-src/score.py"
    grant = rec.inputs("azure-native:authorization:RoleAssignment", "churn-azure-acr-pull")
    assert grant["principalId"] == KUBELET_OBJECT_ID


def test_endpoint_input_and_traffic_are_computed_once(
    azure_mocks: Install, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint validates its arguments once, before any Azure resource, and plans with
    the Azure outputs filled in once: no layer recomputes the input or the traffic split."""
    import aksml.components.endpoint as component
    import aksml.plan.endpoint as plan

    calls: dict[str, int] = {"input": 0, "configurations": 0, "traffic": 0}

    def counted(key: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls[key] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        component, "endpoint_input_from_args", counted("input", plan.endpoint_input_from_args)
    )
    monkeypatch.setattr(
        component,
        "endpoint_configurations_from_args",
        counted("configurations", plan.endpoint_configurations_from_args),
    )
    monkeypatch.setattr(plan, "resolve_traffic", counted("traffic", plan.resolve_traffic))
    azure_mocks()
    _endpoint(_args(tmp_path))
    assert calls == {"input": 1, "configurations": 1, "traffic": 1}
