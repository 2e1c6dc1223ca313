"""aksml quickstart: the iris model as an authenticated, autoscaled endpoint behind a load balancer.

pulumi up                                  # with a kubeconfig for your AKS cluster
uv run aksml render examples/quickstart -o out/quickstart   # offline, no cluster
"""

from pathlib import Path

import pulumi

import aksml

HERE = Path(__file__).resolve().parent

# The AML v1 deploymentconfig.json moves over unchanged (autoscale 1-3, 0.5 CPU, 1 GiB, ...).
config = aksml.AksServiceDeploymentConfiguration.load(HERE / "deploymentconfig.json")

service = aksml.AksWebservice(
    "iris",
    {
        "deployment_config": config,
        "tags": {"example": "quickstart"},
        "entry_script": "score.py",
        "source_directory": str(HERE / "app"),
        "environment": {"requirements_file": str(HERE / "score-requirements.txt")},
        "exposure": aksml.components.args.Exposure.LOAD_BALANCER,
    },
)

pulumi.export("scoring_uri", service.scoring_uri)
pulumi.export("swagger_uri", service.swagger_uri)
pulumi.export("primary_key", service.primary_key)
pulumi.export("namespace", service.namespace)
