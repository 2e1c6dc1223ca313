"""Sentiment scoring script for the ingress example (AML v1 contract: init() and run(raw))."""

import json
import os
from pathlib import Path

lexicon = {}


def init():
    """Load the word weights from the registered model directory."""
    global lexicon
    model_dir = Path(os.environ["AZUREML_MODEL_DIR"])
    lexicon = json.loads((model_dir / "lexicon.json").read_text())


def run(raw_data):
    """Score each text: the sum of its word weights."""
    texts = json.loads(raw_data)["data"]
    return [sum(lexicon.get(w, 0.0) for w in t.lower().split()) for t in texts]
