"""aksml A/B test: one endpoint, two versions split 90/10 on a Gateway API HTTPRoute.

- blue is the default and the control: it receives what green leaves (90 %);
- green is the treatment with traffic_percentile 10, and also gets a shadow copy of 20 % of
  the split requests (RequestMirror; responses discarded) to compare predictions offline;
- a request with the header ``azureml-model-deployment: green`` always goes to green;
- each version also has its own path: /api/v1/service/abtest/versions/<version>/score.

pulumi up                                        # with a kubeconfig and a Gateway "shared"
uv run aksml render examples/ab-test -o out/ab-test   # offline, no cluster
"""

import pulumi

import aksml
from aksml.components.args import Exposure
from aksml.plan.endpoint import VersionType

endpoint = aksml.AksEndpoint(
    "abtest",
    {
        # endpoint-level: one key pair and one auth mode for every version
        "auth_enabled": True,
        "namespace": "experiments",
        "description": "threshold A/B test",
        "tags": {"experiment": "threshold"},
        "exposure": Exposure.GATEWAY,
        "gateway": {
            "parent_refs": [{"name": "shared", "namespace": "gateways"}],
            "hostnames": ["ml.example.com"],
            "https": True,
        },
        "mirror_to": "green",
        "mirror_percent": 20,
        "versions": [
            {
                "version_name": "blue",
                "is_default": True,
                "version_type": VersionType.CONTROL,
                "num_replicas": 2,
                "entry_script": "score.py",
                "source_directory": "blue",
            },
            {
                "version_name": "green",
                "traffic_percentile": 10,
                "version_type": VersionType.TREATMENT,
                "num_replicas": 1,
                "cpu_cores": 0.2,
                "entry_script": "score.py",
                "source_directory": "green",
            },
        ],
    },
)

pulumi.export("scoring_uri", endpoint.scoring_uri)
pulumi.export("swagger_uri", endpoint.swagger_uri)
pulumi.export("version_uris", endpoint.version_uris)
pulumi.export("traffic", endpoint.traffic)
pulumi.export("primary_key", endpoint.primary_key)
