import json
import os
import time


def init():
    pass


def run(raw):
    request = json.loads(raw or "{}")
    time.sleep(float(request.get("sleep", 0)))
    return {"pid": os.getpid(), "tag": request.get("tag")}
