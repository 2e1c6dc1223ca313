"""Application Insights: a workspace-based component (and its Log Analytics workspace unless
one is given), with the connection string in a Kubernetes Secret when asked for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import applicationinsights, operationalinsights

from aksml.azure.settings import ServiceSettings
from aksml.plan.metadata import APP_INSIGHTS_SECRET_KEY


@dataclass(frozen=True)
class AppInsights:
    """The created component's connection string and, if created, its Kubernetes Secret."""

    connection_string: pulumi.Output[str]
    """The connection string (a Pulumi secret)."""
    secret_name: pulumi.Output[Any]
    """Name of the Kubernetes Secret holding it (None when no Secret is created here)."""


def app_insights(
    name: str,
    settings: ServiceSettings,
    parent: pulumi.Resource,
    k8s_opts: pulumi.ResourceOptions,
) -> AppInsights:
    """``<name>-appinsights`` (and ``<name>-logs`` unless ``log_analytics_workspace_id``)."""
    child = pulumi.ResourceOptions(parent=parent)
    rg, location, tags = settings.resource_group_name, settings.location, settings.tags
    workspace_id = settings.args.get("log_analytics_workspace_id")
    if workspace_id is None:
        workspace_id = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=rg,
            location=location,
            sku={"name": "PerGB2018"},
            retention_in_days=30,
            tags=tags,
            opts=child,
        ).id
    component = applicationinsights.Component(
        f"{name}-appinsights",
        resource_group_name=rg,
        location=location,
        kind="web",
        application_type="web",
        ingestion_mode="LogAnalytics",
        workspace_resource_id=workspace_id,
        tags=tags,
        opts=child,
    )
    connection_string: pulumi.Output[str] = pulumi.Output.secret(component.connection_string)
    secret_name: pulumi.Output[Any] = pulumi.Output.from_input(None)
    if settings.app_insights_secret:
        secret = k8s.core.v1.Secret(
            f"{name}-appinsights",
            metadata={
                "name": settings.app_insights_secret_name,
                "namespace": settings.args["namespace"],
            },
            type="Opaque",
            string_data={APP_INSIGHTS_SECRET_KEY: connection_string},
            opts=k8s_opts,
        )
        secret_name = secret.metadata.apply(lambda m: m.name)
    return AppInsights(connection_string, secret_name)
