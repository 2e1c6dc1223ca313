"""Churn scoring: a logistic model whose weights ship as an uploaded model folder.

AZUREML_MODEL_DIR points at azureml-models/churn/1 (mounted from the blob container with the
pod's workload identity, or downloaded by the init container).
"""

import json
import math
import os

weights = {}


def init():
    global weights
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weights.json")) as f:
        weights = json.load(f)


def run(raw_data):
    rows = json.loads(raw_data)["data"]
    out = []
    for row in rows:
        z = weights["intercept"] + sum(
            weights["coefficients"][k] * float(row.get(k, 0)) for k in weights["coefficients"]
        )
        out.append(1 / (1 + math.exp(-z)))
    return {"churn_probability": out}
