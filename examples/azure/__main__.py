"""aksml on AKS with the Azure integration (see docs/azure.md).

Creates a resource group and an AKS cluster with the OIDC issuer, workload identity and the
Blob CSI driver, then one AksWebservice whose ``azure`` section creates and wires App
Insights, a storage account without shared keys holding the uploaded model, the modeldata
container for collected data, and the pods' user-assigned identity with least-privilege
roles. The Kubernetes provider comes from the cluster's user credentials.
"""

from pathlib import Path

import pulumi
from pulumi_azure_native import containerservice, resources

from aksml import AksWebservice

HERE = Path(__file__).parent
config = pulumi.Config()

group = resources.ResourceGroup("aksml", location=config.get("location") or "westeurope")

cluster = containerservice.ManagedCluster(
    "aksml",
    resource_group_name=group.name,
    location=group.location,
    dns_prefix="aksml",
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
        # what runs and how it is reached
        "entry_script": "score.py",
        "source_directory": str(HERE / "src"),
        "exposure": "load_balancer",
        # the Azure side, created and wired by the component
        "azure": {
            "resource_group_name": group.name,
            "cluster_id": cluster.id,
            "models": [{"name": "churn", "version": 1, "path": str(HERE / "model")}],
            "deployer_principal_type": config.get("deployerPrincipalType") or "User",
        },
    },
)

pulumi.export("scoring_uri", service.scoring_uri)
pulumi.export("swagger_uri", service.swagger_uri)
pulumi.export("primary_key", service.primary_key)
pulumi.export("cluster_name", cluster.name)
pulumi.export("resource_group", group.name)
