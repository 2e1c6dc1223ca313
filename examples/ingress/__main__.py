"""aksml ingress example: HTTPS through AKS application routing, token (Entra ID) auth,
KEDA autoscaling on in-flight requests, workload identity, a model fetched at pod start."""

import pulumi

import aksml
from aksml.components.args import AutoscalerKind, Exposure

service = aksml.AksWebservice(
    "sentiment",
    {
        # v1 settings
        "autoscale_enabled": True,
        "autoscale_min_replicas": 2,
        "autoscale_max_replicas": 20,
        "autoscale_refresh_seconds": 15,
        "autoscale_target_utilization": 60,
        "replica_max_concurrent_requests": 4,
        "auth_enabled": False,
        "token_auth_enabled": True,
        "namespace": "nlp",
        "tags": {"team": "nlp", "tier": "prod"},
        # what runs
        "entry_script": "score.py",
        "source_directory": "app",
        "models": [
            {
                "name": "lexicon",
                "version": "7",
                "source": "url",
                "url": "https://models.example.com/sentiment/7/lexicon.json",
            }
        ],
        # how it is reached and scaled
        "exposure": Exposure.INGRESS,
        "ingress": {"host": "nlp.example.com", "tls_secret_name": "nlp-example-com-tls"},
        "autoscaler": AutoscalerKind.KEDA,
        "create_namespace": True,
        # identity: Entra ID tokens for callers, workload identity for the pod
        "token_issuer": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0",
        "token_audience": "api://sentiment",
        "workload_identity_client_id": "00000000-0000-0000-0000-000000000002",
    },
)

pulumi.export("scoring_uri", service.scoring_uri)
pulumi.export("swagger_uri", service.swagger_uri)
