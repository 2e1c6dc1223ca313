"""Identity resources: the pods' user-assigned identity federated with their service accounts
(Azure workload identity), and the Entra ID app registration for token auth."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, managedidentity

from aksml.azure import naming
from aksml.azure.args import TokenAuthApplicationArgs
from aksml.azure.cluster import ClusterRef
from aksml.azure.settings import ServiceSettings


def _subject(namespace: pulumi.Input[str], service_account: str) -> pulumi.Output[str]:
    """The federated subject of ``service_account`` in ``namespace``."""
    return pulumi.Output.from_input(namespace).apply(
        lambda ns: naming.federated_subject(ns, service_account)
    )


def workload_identity(
    name: str, settings: ServiceSettings, cluster: ClusterRef, parent: pulumi.Resource
) -> managedidentity.UserAssignedIdentity:
    """``<name>-identity``, trusted by the service account's token (``<name>-federated``) and
    by each further account (``<name>-federated-<account>``), created one after the other."""
    args = settings.args
    child = pulumi.ResourceOptions(parent=parent)
    rg = settings.resource_group_name
    identity = managedidentity.UserAssignedIdentity(
        f"{name}-identity",
        resource_group_name=rg,
        location=settings.location,
        tags=settings.tags,
        opts=child,
    )
    previous = managedidentity.FederatedIdentityCredential(
        f"{name}-federated",
        resource_group_name=rg,
        resource_name_=identity.name,
        issuer=cluster.oidc_issuer_url,
        subject=pulumi.Output.all(args["namespace"], args["service_account_name"]).apply(
            lambda ns_sa: naming.federated_subject(ns_sa[0], ns_sa[1])
        ),
        audiences=[naming.WORKLOAD_IDENTITY_AUDIENCE],
        opts=child,
    )
    # Azure refuses concurrent credential writes on one identity (409): one at a time
    for subject_account in settings.federated_service_accounts:
        previous = managedidentity.FederatedIdentityCredential(
            f"{name}-federated-{subject_account}",
            resource_group_name=rg,
            resource_name_=identity.name,
            issuer=cluster.oidc_issuer_url,
            subject=_subject(args["namespace"], subject_account),
            audiences=[naming.WORKLOAD_IDENTITY_AUDIENCE],
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[previous]),
        )
    return identity


@dataclass(frozen=True)
class TokenApplication:
    """What token auth needs from the app registration."""

    issuer: pulumi.Output[str]
    """``https://login.microsoftonline.com/<tenant>/v2.0``."""
    audience: pulumi.Output[str]
    """``<app client id>,<identifier URI>``."""
    client_id: pulumi.Output[str]
    """The app registration's client id."""


def token_application(
    name: str, app_args: TokenAuthApplicationArgs, parent: pulumi.Resource
) -> TokenApplication:
    """``<name>-app``: an Entra ID app registration whose tokens the runtime accepts."""
    import pulumi_azuread as azuread  # the 'azure' extra

    identifier_uri = app_args.get("identifier_uri", naming.default_identifier_uri(name))
    application = azuread.Application(
        f"{name}-app",
        display_name=app_args.get("display_name", name),
        identifier_uris=[identifier_uri],
        sign_in_audience="AzureADMyOrg",
        api={"requested_access_token_version": 2},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    tenant: pulumi.Input[str] | None = app_args.get("tenant_id")
    if tenant is None:
        tenant = authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=parent)
        ).tenant_id
    return TokenApplication(
        issuer=pulumi.Output.from_input(tenant).apply(naming.entra_issuer),
        audience=application.client_id.apply(lambda client_id: f"{client_id},{identifier_uri}"),
        client_id=application.client_id,
    )
