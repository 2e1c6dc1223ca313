"""Pure helpers of the Azure integration: ids, scopes, role ids, names, blob layout, snippets."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from aksml.azure import naming
from aksml.errors import WebserviceException

ACCOUNT_ID = (
    "/subscriptions/sub-1/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/acct1"
)


def test_resource_id_parts() -> None:
    assert naming.subscription_of(ACCOUNT_ID) == "sub-1"
    assert naming.resource_group_of(ACCOUNT_ID) == "rg-data"
    assert naming.resource_name_of(ACCOUNT_ID) == "acct1"


@pytest.mark.parametrize("bad", ["", "acct1", "/subscriptions/x", "https://x/y"])
def test_resource_id_rejects_non_ids(bad: str) -> None:
    with pytest.raises(WebserviceException, match="Not an Azure resource id"):
        naming.subscription_of(bad)


def test_role_definition_ids_are_the_documented_builtins() -> None:
    assert naming.STORAGE_BLOB_DATA_READER == "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    assert naming.STORAGE_BLOB_DATA_CONTRIBUTOR == "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    assert naming.role_definition_id("sub-1", naming.STORAGE_BLOB_DATA_READER) == (
        "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/"
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
    )


def test_container_scope_is_one_container() -> None:
    assert naming.container_scope(ACCOUNT_ID + "/", "models") == (
        ACCOUNT_ID + "/blobServices/default/containers/models"
    )


def test_storage_account_name_is_valid_stable_and_salted() -> None:
    a = naming.storage_account_name("My_Service-1", "proj/dev")
    assert re.fullmatch(r"[a-z0-9]{3,24}", a)
    assert a.startswith("myservice1")
    assert a == naming.storage_account_name("My_Service-1", "proj/dev")
    assert a != naming.storage_account_name("My_Service-1", "proj/prod")
    long = naming.storage_account_name("a-very-long-service-name-indeed", "p/s")
    assert len(long) == 24 and long.startswith("averylongservi")
    assert re.fullmatch(r"[a-z0-9]{3,24}", naming.storage_account_name("---", "p/s"))


@pytest.mark.parametrize("bad", ["ab", "Has-Upper", "with-dash", "x" * 25])
def test_storage_account_name_validation(bad: str) -> None:
    with pytest.raises(WebserviceException, match="Invalid storage_account_name"):
        naming.validate_storage_account_name(bad)


@pytest.mark.parametrize("good", ["models", "modeldata", "m-1", "abc"])
def test_container_name_accepts(good: str) -> None:
    assert naming.validate_container_name(good) == good


@pytest.mark.parametrize("bad", ["ab", "-models", "models-", "mo--dels", "Models", "a" * 64])
def test_container_name_rejects(bad: str) -> None:
    with pytest.raises(WebserviceException, match="Invalid blob container name"):
        naming.validate_container_name(bad)


def test_federated_subject() -> None:
    assert naming.federated_subject("ml", "scorer") == "system:serviceaccount:ml:scorer"
    with pytest.raises(WebserviceException, match="namespace"):
        naming.federated_subject("ML_ns", "scorer")
    with pytest.raises(WebserviceException, match="service account"):
        naming.federated_subject("ml", "Scorer")


def test_oidc_issuer_must_be_enabled() -> None:
    assert naming.oidc_issuer("https://issuer/") == "https://issuer/"
    for missing in (None, ""):
        with pytest.raises(WebserviceException, match="no OIDC issuer"):
            naming.oidc_issuer(missing)


def test_model_file_becomes_one_blob(tmp_path: Path) -> None:
    f = tmp_path / "model.pkl"
    f.write_bytes(b"x")
    assert naming.model_blobs("churn", 3, f) == [naming.ModelBlob("churn/3/model.pkl", f)]


def test_model_folder_is_uploaded_file_by_file_with_stable_names(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "b.json").write_text("{}")
    (tmp_path / "sub" / "a.bin").write_bytes(b"a")
    (tmp_path / "sub" / "deep" / "c.txt").write_text("c")
    names = [b.blob_name for b in naming.model_blobs("m", 1, tmp_path)]
    assert names == ["m/1/b.json", "m/1/sub/a.bin", "m/1/sub/deep/c.txt"]
    (tmp_path / "a-new.txt").write_text("new")
    after = [b.blob_name for b in naming.model_blobs("m", 1, str(tmp_path))]
    assert after == ["m/1/a-new.txt", *names]


def test_model_paths_and_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(WebserviceException, match="neither a file nor a folder"):
        naming.model_blobs("m", 1, tmp_path / "missing")
    with pytest.raises(WebserviceException, match="holds no files"):
        naming.model_blobs("m", 1, tmp_path)
    with pytest.raises(WebserviceException, match="model name"):
        naming.model_blobs("a/b", 1, tmp_path)
    with pytest.raises(WebserviceException, match="versions start at 1"):
        naming.model_blobs("m", 0, tmp_path)


def test_duplicate_blob_names_are_rejected(tmp_path: Path) -> None:
    blob = naming.ModelBlob("m/1/x", tmp_path)
    naming.check_unique_blob_names([blob, naming.ModelBlob("m/2/x", tmp_path)])
    with pytest.raises(WebserviceException, match="same blob 'm/1/x'"):
        naming.check_unique_blob_names([blob, blob])


def test_urls() -> None:
    assert naming.container_url("acct1", "modeldata") == (
        "https://acct1.blob.core.windows.net/modeldata"
    )
    assert naming.blob_url("acct1", "models", "m/1/my model#1.pkl") == (
        "https://acct1.blob.core.windows.net/models/m/1/my%20model%231.pkl"
    )
    assert naming.blob_endpoint("acct1", "core.chinacloudapi.cn") == (
        "https://acct1.blob.core.chinacloudapi.cn"
    )


def test_decode_kubeconfig() -> None:
    text = "apiVersion: v1\nclusters: []\n"
    assert naming.decode_kubeconfig(base64.b64encode(text.encode()).decode()) == text
    with pytest.raises(WebserviceException, match="not a base64 kubeconfig"):
        naming.decode_kubeconfig("not base64!")
    with pytest.raises(WebserviceException, match="do not hold a kubeconfig"):
        naming.decode_kubeconfig(base64.b64encode(b"hello").decode())


def test_blob_csi_volume_uses_workload_identity_and_no_keys() -> None:
    volume = naming.blob_csi_volume("models", "acct1", "models", "cid", "rg-data")
    assert volume == {
        "name": "models",
        "csi": {
            "driver": "blob.csi.azure.com",
            "readOnly": True,
            "volumeAttributes": {
                "storageaccount": "acct1",
                "containerName": "models",
                "clientID": "cid",
                "resourcegroup": "rg-data",
                "mountWithWorkloadIdentityToken": "true",
            },
        },
    }
    assert "key" not in repr(volume).lower()
