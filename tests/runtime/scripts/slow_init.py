"""init() takes SLOW_INIT_S seconds (default 3)."""

import os
import time


def init():
    time.sleep(float(os.environ.get("SLOW_INIT_S", "3")))


def run(raw):
    return {"ok": True}
