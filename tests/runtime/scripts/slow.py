import json
import os
import time


def init():
    pass


def run(raw):
    request = json.loads(raw or "{}")
    if request.get("exit"):
        os._exit(1)
    time.sleep(float(request.get("sleep", 0)))
    return {"pid": os.getpid(), "tag": request.get("tag")}
