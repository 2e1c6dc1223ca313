"""Scoring script for the quickstart: the AML v1 contract (init() once, run(raw) per request).

Request body: {"data": [[sepal_length, sepal_width, petal_length, petal_width], ...]}
Response: the predicted class names.
"""

import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

model = None
class_names = []


def init():
    """Load the model parameters shipped next to this file."""
    global model, class_names
    params = json.loads((Path(__file__).resolve().parent / "model.json").read_text())
    model = LogisticRegression()
    model.classes_ = np.array(params["classes"])
    model.coef_ = np.array(params["coef"])
    model.intercept_ = np.array(params["intercept"])
    model.n_features_in_ = model.coef_.shape[1]
    class_names = params["class_names"]


def run(raw_data):
    """Predict the iris species of each row."""
    data = np.array(json.loads(raw_data)["data"], dtype=float)
    return [class_names[int(i)] for i in model.predict(data)]
