"""Pulumi mocks for the Azure integration tests: a recording ``Mocks`` plus ``MockMonitor``.

Azure resources get realistic ids and computed outputs; the invokes the integration uses
(``listManagedClusterUserCredentials``, ``getManagedCluster``, ``getClientConfig``) return
canned results, and every invoke is recorded so that tests can prove no key is ever listed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
TENANT = "00000000-0000-0000-0000-0000000000aa"
DEPLOYER_OBJECT_ID = "00000000-0000-0000-0000-0000000000de"
RG = "rg-ml"
CLUSTER_NAME = "aks-ml"
CLUSTER_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers/"
    f"Microsoft.ContainerService/managedClusters/{CLUSTER_NAME}"
)
ISSUER = "https://westeurope.oic.prod-aks.azure.com/tenant/issuer-id/"
KUBECONFIG = (
    "apiVersion: v1\nkind: Config\nclusters:\n- name: aks-ml\n  cluster:\n"
    "    server: https://aks-ml.hcp.westeurope.azmk8s.io:443\nusers:\n- name: clusterUser\n"
    "  user:\n    token: rotating-token-1\n"
)
UAI_CLIENT_ID = "11111111-2222-3333-4444-555555555555"
UAI_PRINCIPAL_ID = "66666666-7777-8888-9999-000000000000"
KUBELET_OBJECT_ID = "77777777-0000-0000-0000-00000000c0be"
ACR_USER = "aksmlacr"
ACR_PASSWORD = "acr-admin-password-1"
IMAGE_DIGEST = "sha256:" + "ab" * 32
APP_CLIENT_ID = "88888888-0000-0000-0000-0000000000a9"
CONNECTION_STRING = "InstrumentationKey=abc;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"

SECRET_SIG = "4dabf18193072939515e22adb298388d"


def unwrap(value: Any) -> Any:
    """Remove Pulumi's secret wrappers from mock inputs, recursively."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def is_wrapped_secret(value: Any) -> bool:
    """True when a mock input arrived as a Pulumi secret."""
    return isinstance(value, dict) and SECRET_SIG in value


@dataclass
class Recorder(pulumi.runtime.Mocks):
    """Records resources and invokes; returns Azure-shaped ids and outputs."""

    preview: bool = False
    unknown_cluster: bool = False
    resources: list[pulumi_mocks.MockResourceArgs] = field(default_factory=list)
    calls: list[pulumi_mocks.MockCallArgs] = field(default_factory=list)
    monitor: pulumi_mocks.MockMonitor | None = None

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        self.resources.append(args)
        state = dict(args.inputs)
        typ, name = args.typ, args.name
        rid = f"{name}_id"
        rg_path = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}/providers"
        if typ == "azure-native:storage:StorageAccount":
            rid = f"{rg_path}/Microsoft.Storage/storageAccounts/{args.inputs['accountName']}"
        elif typ == "azure-native:managedidentity:UserAssignedIdentity":
            rid = f"{rg_path}/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
            state |= {
                "name": name,
                "clientId": UAI_CLIENT_ID,
                "principalId": UAI_PRINCIPAL_ID,
                "tenantId": TENANT,
            }
        elif typ == "azure-native:operationalinsights:Workspace":
            rid = f"{rg_path}/Microsoft.OperationalInsights/workspaces/{name}"
        elif typ == "azure-native:applicationinsights:Component":
            rid = f"{rg_path}/Microsoft.Insights/components/{name}"
            state["connectionString"] = CONNECTION_STRING
        elif typ == "azure-native:resources:ResourceGroup":
            rid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RG}"
            state["name"] = RG
        elif typ == "azure-native:containerservice:ManagedCluster":
            if self.unknown_cluster:
                return None, {}
            rid = CLUSTER_ID
            state |= {
                "name": CLUSTER_NAME,
                "oidcIssuerProfile": {"issuerURL": ISSUER},
                "identityProfile": {"kubeletidentity": {"objectId": KUBELET_OBJECT_ID}},
            }
        elif typ == "azure-native:containerregistry:Registry":
            registry = args.inputs["registryName"]
            rid = f"{rg_path}/Microsoft.ContainerRegistry/registries/{registry}"
            state |= {"name": registry, "loginServer": f"{registry}.azurecr.io"}
        elif typ == "docker-build:index:Image":
            if self.preview:  # buildOnPreview false: nothing is built, the ref is unknown
                return rid, state
            tags = args.inputs.get("tags") or []
            state["ref"] = f"{tags[0]}@{IMAGE_DIGEST}" if tags else ""
            state["digest"] = IMAGE_DIGEST
        elif typ == "azuread:index/application:Application":
            state |= {"clientId": APP_CLIENT_ID, "objectId": "app-object-id"}
        return rid, state

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:
        self.calls.append(args)
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            encoded = base64.b64encode(KUBECONFIG.encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": encoded}]}
        if args.token == "azure-native:containerservice:getManagedCluster":
            profile = {"issuerURL": ISSUER, "enabled": True}
            return {
                "id": CLUSTER_ID,
                "name": args.args["resourceName"],
                "oidcIssuerProfile": profile,
                "identityProfile": {"kubeletidentity": {"objectId": KUBELET_OBJECT_ID}},
            }
        if args.token == "azure-native:containerregistry:listRegistryCredentials":
            return {
                "username": ACR_USER,
                "passwords": [{"name": "password", "value": ACR_PASSWORD}],
            }
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": "deployer-app",
                "objectId": DEPLOYER_OBJECT_ID,
                "subscriptionId": SUBSCRIPTION,
                "tenantId": TENANT,
            }
        raise AssertionError(f"unexpected invoke {args.token}")

    # --- helpers for assertions ---
    def custom(self) -> list[pulumi_mocks.MockResourceArgs]:
        """Every custom (non-component) resource, explicit providers included."""
        return [r for r in self.resources if r.custom or r.typ.startswith("pulumi:providers:")]

    def of_type(self, typ: str) -> list[pulumi_mocks.MockResourceArgs]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> pulumi_mocks.MockResourceArgs:
        found = [r for r in self.resources if r.typ == typ and r.name == name]
        assert len(found) == 1, f"{typ} {name}: {len(found)} registrations"
        return found[0]

    def inputs(self, typ: str, name: str) -> dict[str, Any]:
        return unwrap(self.one(typ, name).inputs)  # type: ignore[no-any-return]

    def urn_of(self, typ: str, name: str) -> str:
        assert self.monitor is not None
        urns = [u for u in self.monitor.get_registered_resources() if u.endswith(f"{typ}::{name}")]
        assert len(urns) == 1, urns
        return urns[0]


@pytest.fixture
def azure_mocks() -> Iterator[Callable[..., Recorder]]:
    """Factory: ``azure_mocks(preview=False, ...)`` installs fresh mocks for this test only."""
    saved = deepcopy(settings.SETTINGS)

    def install(**kwargs: Any) -> Recorder:
        recorder = Recorder(**kwargs)
        recorder.monitor = pulumi_mocks.MockMonitor(recorder)
        settings.ROOT.set(None)
        pulumi.runtime.set_mocks(
            recorder,
            project="aksml-test",
            stack="dev",
            preview=recorder.preview,
            monitor=recorder.monitor,
        )
        return recorder

    try:
        yield install
    finally:
        settings.configure(saved)
        settings.ROOT.set(None)
