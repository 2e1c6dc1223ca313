"""Churn scoring with numpy: the weights ship as an uploaded model, the code and numpy are
baked into the service image that the stack builds and pushes to its container registry.

AZUREML_MODEL_DIR points at azureml-models/churn/1 (mounted from the blob container with the
pod's workload identity).
"""

import json
import os

import numpy as np
from features import FEATURES, vector

intercept = 0.0
coefficients = np.zeros(len(FEATURES))


def init():
    global intercept, coefficients
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weights.json")) as f:
        weights = json.load(f)
    intercept = float(weights["intercept"])
    coefficients = np.array([weights["coefficients"][name] for name in FEATURES])


def run(raw_data):
    rows = np.array([vector(row) for row in json.loads(raw_data)["data"]], dtype=float)
    z = intercept + rows @ coefficients
    return {"churn_probability": (1 / (1 + np.exp(-z))).tolist()}
