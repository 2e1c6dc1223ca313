"""aksml GPU example: bring-your-own model server (NVIDIA Triton) on a GPU node pool.

The aksml runtime sits in front of Triton in the same pod (proxy mode): it adds AML key auth,
admission control (503 past the queue wait), the scoring timeout (504), metrics and the AML
URIs, and forwards /score to Triton. The model repository is mounted from Azure Blob storage
by the Blob CSI driver (blobfuse_enabled, the v1 default).
"""

import pulumi

import aksml
from aksml.components.args import Exposure, ModelSource, RuntimeMode

service = aksml.AksWebservice(
    "resnet-gpu",
    {
        # v1 settings: two fixed replicas with one GPU each
        "num_replicas": 2,
        "cpu_cores": 4,
        "memory_gb": 16,
        "memory_gb_limit": 24,
        "gpu_cores": 1,
        "scoring_timeout_ms": 30000,
        "replica_max_concurrent_requests": 8,
        "namespace": "vision",
        "description": "ResNet-50 on Triton",
        # what runs
        "runtime_mode": RuntimeMode.PROXY,
        "proxy": {
            "image": "nvcr.io/nvidia/tritonserver:24.08-py3",
            "port": 8000,
            "score_path": "/v2/models/resnet50/infer",
            "args": ["tritonserver", "--model-repository=/var/azureml-app/azureml-models"],
        },
        "models": [
            {
                "name": "resnet50",
                "version": "1",
                "source": ModelSource.BLOB,
                "url": "https://mlmodels.blob.core.windows.net/models/resnet50/1",
            }
        ],
        # where it runs: the GPU pool, reachable on an internal load balancer
        "node_selector": {"agentpool": "gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "exposure": Exposure.LOAD_BALANCER,
        "internal_load_balancer": True,
    },
)

pulumi.export("scoring_uri", service.scoring_uri)
pulumi.export("primary_key", service.primary_key)
