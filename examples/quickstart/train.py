"""Train the quickstart's model and write app/model.json (run once; the output is checked in).

    uv run python examples/quickstart/train.py

A logistic regression on the iris data set, stored as plain JSON parameters (coefficients,
intercepts, classes) so the checked-in file is small, reviewable and independent of the
scikit-learn version that reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

OUT = Path(__file__).resolve().parent / "app" / "model.json"


def main() -> None:
    data = load_iris()
    model = LogisticRegression(max_iter=1000).fit(data.data, data.target)
    params = {
        "classes": [int(c) for c in model.classes_],
        "class_names": [str(n) for n in data.target_names],
        "coef": [[round(float(v), 6) for v in row] for row in model.coef_],
        "intercept": [round(float(v), 6) for v in model.intercept_],
        "feature_names": [str(n) for n in data.feature_names],
    }
    OUT.write_text(json.dumps(params, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT} (training accuracy {model.score(data.data, data.target):.3f})")


if __name__ == "__main__":
    main()
