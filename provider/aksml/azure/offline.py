"""Stand-in Azure values for offline renders (``aksml render``/``aksml diff`` run programs under
Pulumi's mock engine, where no Azure API answers).

Ids have the real shape under the all-zero subscription, so the Azure integration's id parsing,
scopes and URLs render exactly as they would deploy; nothing here is ever sent to Azure.
"""

from __future__ import annotations

import base64
from typing import Any, Final

KUBELET_KEY: Final = "kubeletidentity"
SUBSCRIPTION: Final = "00000000-0000-0000-0000-000000000000"
"""Subscription id of every rendered Azure resource id."""
ZERO_GUID: Final = "00000000-0000-0000-0000-000000000000"
"""Client, principal, tenant and object ids in renders."""
ISSUER: Final = "https://oidc.render.invalid/"
"""OIDC issuer URL of a rendered AKS cluster."""
KUBECONFIG: Final = (
    "apiVersion: v1\nkind: Config\nclusters:\n- name: render\n  cluster:\n"
    "    server: https://render.invalid\ncontexts: []\nusers: []\n"
)

_PROVIDERS: Final = {
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
    ),
    "azure-native:operationalinsights:Workspace": (
        "Microsoft.OperationalInsights/workspaces",
        "workspaceName",
    ),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    "azure-native:containerservice:ManagedCluster": (
        "Microsoft.ContainerService/managedClusters",
        "resourceName",
    ),
    "azure-native:containerregistry:Registry": (
        "Microsoft.ContainerRegistry/registries",
        "registryName",
    ),
}
IMAGE_DIGEST: Final = "sha256:" + "0" * 64
"""Digest of every image "built" during a render (nothing is built)."""


def resource_state(typ: str, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(id, state) for an azure-native resource registered during a render."""
    state = dict(inputs)
    if typ == "docker-build:index:Image":
        tags = inputs.get("tags") or []
        state |= {"digest": IMAGE_DIGEST, "ref": f"{tags[0]}@{IMAGE_DIGEST}" if tags else ""}
        return f"{name}-id", state
    if typ.startswith("azuread:"):
        state |= {"clientId": ZERO_GUID, "objectId": ZERO_GUID}
        return ZERO_GUID, state
    if typ == "azure-native:resources:ResourceGroup":
        group = str(inputs.get("resourceGroupName") or name)
        state["name"] = group
        return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}", state
    group = str(inputs.get("resourceGroupName") or "render")
    kind = _PROVIDERS.get(typ)
    if kind is None:
        return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{name}", state
    own_name = str(inputs.get(kind[1]) or name)
    state["name"] = own_name
    rid = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{kind[0]}/{own_name}"
    if typ == "azure-native:managedidentity:UserAssignedIdentity":
        state |= {"clientId": ZERO_GUID, "principalId": ZERO_GUID, "tenantId": ZERO_GUID}
    elif typ == "azure-native:applicationinsights:Component":
        state["connectionString"] = f"InstrumentationKey={ZERO_GUID}"
    elif typ == "azure-native:containerservice:ManagedCluster":
        state["oidcIssuerProfile"] = {"enabled": True, "issuerURL": ISSUER}
        state["identityProfile"] = {KUBELET_KEY: {"objectId": ZERO_GUID}}
    elif typ == "azure-native:containerregistry:Registry":
        state["loginServer"] = f"{own_name.lower()}.azurecr.io"
    return rid, state


def invoke_result(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The result of an azure-native invoke during a render; None for other tokens."""
    if token == "azure-native:containerservice:listManagedClusterUserCredentials":
        encoded = base64.b64encode(KUBECONFIG.encode()).decode()
        return {"kubeconfigs": [{"name": "clusterUser", "value": encoded}]}
    if token == "azure-native:containerservice:getManagedCluster":
        group, name = args.get("resourceGroupName"), args.get("resourceName")
        rid = (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/"
            f"Microsoft.ContainerService/managedClusters/{name}"
        )
        return {
            "id": rid,
            "name": name,
            "oidcIssuerProfile": {"enabled": True, "issuerURL": ISSUER},
            "identityProfile": {KUBELET_KEY: {"objectId": ZERO_GUID}},
        }
    if token == "azure-native:containerregistry:listRegistryCredentials":
        return {"username": "render", "passwords": [{"name": "password", "value": "render"}]}
    if token == "azure-native:authorization:getClientConfig":
        return {
            "clientId": ZERO_GUID,
            "objectId": ZERO_GUID,
            "subscriptionId": SUBSCRIPTION,
            "tenantId": ZERO_GUID,
        }
    return None
