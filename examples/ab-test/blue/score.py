"""Version "blue" (control): a fixed-threshold classifier (AML v1 contract: init(), run(raw))."""

import json

THRESHOLD = 0.5


def init():
    """Nothing to load: the model is the threshold."""


def run(raw_data):
    """Label each score: "high" at or above the threshold, else "low"."""
    scores = json.loads(raw_data)["data"]
    return {"version": "blue", "labels": ["high" if s >= THRESHOLD else "low" for s in scores]}
