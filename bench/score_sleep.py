"""Scoring script for the overload benchmark: every call holds the worker for 50 ms."""

import time

SLEEP_S = 0.05


def init() -> None:
    """Nothing to load."""


def run(raw_data: str) -> dict[str, float]:
    """Sleep 50 ms (a stand-in for a model that takes 50 ms per call)."""
    time.sleep(SLEEP_S)
    return {"slept_s": SLEEP_S}
