import json
import os
import time


def init():
    pass


def run(raw):
    request = json.loads(raw or "{}")
    if request.get("mark"):  # leaves a trace that run() was called
        with open(request["mark"], "w") as f:
            f.write("ran")
    if request.get("exit"):
        os._exit(1)
    time.sleep(float(request.get("sleep", 0)))
    if request.get("exit_after_sleep"):
        os._exit(1)
    return {"pid": os.getpid(), "tag": request.get("tag")}
