"""Returns AMLResponse(generator): one chunk per item, ``pause`` seconds apart (query string)."""

import time

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


def chunks(count, pause, fail):
    for index in range(count):
        if index:
            time.sleep(pause)
        yield f"chunk {index}\n"
    if fail:
        raise RuntimeError("generator failed")


@rawhttp
def run(request: AMLRequest):
    count = int(request.args.get("count", "3"))
    pause = float(request.args.get("pause", "0"))
    if request.args.get("whole"):
        return AMLResponse("".join(chunks(count, 0, False)), 200)
    return AMLResponse(chunks(count, pause, bool(request.args.get("fail"))), 200)
