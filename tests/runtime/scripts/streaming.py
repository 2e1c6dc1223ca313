"""Returns AMLResponse(generator): one chunk per item, ``pause`` seconds apart (query string)."""

import time

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse

PRODUCED = {"chunks": 0}


def init():
    pass


def chunks(count, pause, fail):
    for index in range(count):
        if index:
            time.sleep(pause)
        PRODUCED["chunks"] += 1
        yield f"chunk {index}\n"
    if fail:
        raise RuntimeError("generator failed")


def big(count):
    for _ in range(count):
        PRODUCED["chunks"] += 1
        yield b"x" * (1 << 20)


@rawhttp
def run(request: AMLRequest):
    if request.args.get("produced"):
        return {"chunks": PRODUCED["chunks"]}
    if request.args.get("big"):  # 1 MiB chunks, as fast as the client takes them
        return AMLResponse(big(int(request.args["big"])), 200)
    count = int(request.args.get("count", "3"))
    pause = float(request.args.get("pause", "0"))
    if request.args.get("whole"):
        return AMLResponse("".join(chunks(count, 0, False)), 200)
    return AMLResponse(chunks(count, pause, bool(request.args.get("fail"))), 200)
