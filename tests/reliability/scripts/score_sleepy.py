"""Reliability fixture: ``{"sleep": seconds}`` holds run() that long; init() can be slowed by
the SCORE_INIT_SLEEP_S environment variable (to prove readiness waits for init())."""

import json
import os
import time


def init() -> None:
    """Optionally take a while, like loading a model."""
    time.sleep(float(os.environ.get("SCORE_INIT_SLEEP_S", "0")))


def run(raw_data: str) -> dict[str, object]:
    """Sleep as asked and echo the request's ``id``."""
    data = json.loads(raw_data)
    time.sleep(float(data.get("sleep", 0)))
    return {"id": data.get("id"), "pid": os.getpid()}
