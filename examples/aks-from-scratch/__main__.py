"""aksml on AKS from nothing (see docs/azure.md, "examples/aks-from-scratch").

Creates a resource group, an AKS cluster with the OIDC issuer, workload identity and the
Blob CSI driver, an Azure Container Registry and a Log Analytics workspace, then one
AksWebservice that uses all of them: its image (the aksml runtime + numpy + ``src/``) is
built from a generated Dockerfile and pushed to the registry, the cluster's kubelet identity
gets AcrPull on it, App Insights is created on the workspace, the model in ``model/`` is
uploaded to a storage account without shared keys and mounted with the pods' workload
identity, and collected model data goes to the ``modeldata`` container.
"""

import pulumi
from pulumi_azure_native import containerregistry, containerservice, operationalinsights, resources

from aksml import AksWebservice
from aksml.azure.image import registry_name

config = pulumi.Config()
location = config.get("location") or "westeurope"

group = resources.ResourceGroup("aksml-scratch", location=location)

cluster = containerservice.ManagedCluster(
    "aksml-scratch",
    resource_group_name=group.name,
    location=group.location,
    dns_prefix="aksml-scratch",
    identity={"type": "SystemAssigned"},
    agent_pool_profiles=[
        {
            "name": "system",
            "mode": "System",
            "count": config.get_int("nodeCount") or 2,
            "vm_size": config.get("nodeVmSize") or "Standard_D4ds_v5",
            "os_type": "Linux",
        }
    ],
    oidc_issuer_profile={"enabled": True},
    security_profile={"workload_identity": {"enabled": True}},
    storage_profile={"blob_csi_driver": {"enabled": True}},
)

registry = containerregistry.Registry(
    "aksml-scratch",
    # registry names are global in Azure: letters and digits, unique per project and stack
    registry_name=config.get("registryName")
    or registry_name("scratch", f"{pulumi.get_project()}/{pulumi.get_stack()}"),
    resource_group_name=group.name,
    location=group.location,
    sku={"name": "Basic"},
    admin_user_enabled=True,  # the build pushes with the admin credentials (kept secret)
)

logs = operationalinsights.Workspace(
    "aksml-scratch",
    resource_group_name=group.name,
    location=group.location,
    sku={"name": "PerGB2018"},
    retention_in_days=30,
)

service = AksWebservice(
    "churn",
    {
        # AML v1 deploy configuration
        "cpu_cores": 0.5,
        "memory_gb": 1,
        "autoscale_enabled": True,
        "autoscale_max_replicas": 4,
        "enable_app_insights": True,
        "collect_model_data": True,
        "namespace": "ml",
        "create_namespace": True,
        # what runs: baked into the image the stack builds
        "entry_script": "score.py",
        "source_directory": "src",  # relative to the project: stable build context
        "environment": {"pip_requirements": ["numpy>=1.26,<3"]},
        "exposure": "load_balancer",
        # the Azure side, created and wired by the component
        "azure": {
            "resource_group_name": group.name,
            "cluster_id": cluster.id,
            "log_analytics_workspace_id": logs.id,
            "image": {"registry_id": registry.id},
            "models": [{"name": "churn", "version": 1, "path": "model"}],
            "deployer_principal_type": config.get("deployerPrincipalType") or "User",
        },
    },
)

pulumi.export("scoring_uri", service.scoring_uri)
pulumi.export("swagger_uri", service.swagger_uri)
pulumi.export("primary_key", service.primary_key)
pulumi.export("image", service.azure.image_ref)
pulumi.export("registry", registry.login_server)
pulumi.export("cluster_name", cluster.name)
pulumi.export("resource_group", group.name)
