"""Version "green" (treatment): the candidate with a tuned threshold (AML v1 contract)."""

import json

THRESHOLD = 0.42


def init():
    """Nothing to load: the model is the threshold."""


def run(raw_data):
    """Label each score: "high" at or above the threshold, else "low"."""
    scores = json.loads(raw_data)["data"]
    return {"version": "green", "labels": ["high" if s >= THRESHOLD else "low" for s in scores]}
