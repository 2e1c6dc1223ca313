"""A @rawhttp score.py with the import path azureml-inference-server-http documents today;
it answers with the environment it sees and prints one line per call."""

import os

from azureml_inference_server_http.api.aml_request import AMLRequest, rawhttp
from azureml_inference_server_http.api.aml_response import AMLResponse

SEEN = (
    "AML_APP_ROOT",
    "AZUREML_ENTRY_SCRIPT",
    "AZUREML_MODEL_DIR",
    "AML_APP_INSIGHTS_ENABLED",
    "AML_APP_INSIGHTS_KEY",
    "SERVER_PORT",
    "WORKER_COUNT",
)


def init():
    print("modern init done")


@rawhttp
def run(request: AMLRequest):
    print("modern run called")
    seen = {name: os.environ.get(name, "__NONE__") for name in SEEN}
    return AMLResponse(seen, 200, json_str=True)
