"""Request bodies of the payload benchmark scenarios (deterministic: a fixed seed per size).

* numpy    -- ``{"data": rows x 20 floats}`` for ``score_numpy.py`` (1,000 rows: ~160 KB)
* pandas   -- ``{"frame": rows records of 4 columns}`` for ``score_pandas.py``
* standard -- ``{"rows": rows x 20 floats}`` for ``score_standard.py``
"""

from __future__ import annotations

import json
import random
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SCRIPTS = {
    "numpy": BENCH_DIR / "score_numpy.py",
    "pandas": BENCH_DIR / "score_pandas.py",
    "standard": BENCH_DIR / "score_standard.py",
}
"""score.py of each payload scenario."""
CITIES = ["Oslo", "Lima", "Nairobi", "Osaka", "Quito", "Perth", "Lyon", "Austin"]


def _matrix(rng: random.Random, rows: int) -> list[list[float]]:
    return [[round(rng.uniform(-100.0, 100.0), 3) for _ in range(20)] for _ in range(rows)]


def body(kind: str, rows: int) -> bytes:
    """The JSON request body of scenario ``kind`` with ``rows`` rows."""
    rng = random.Random(f"{kind}-{rows}")
    value: object
    if kind == "numpy":
        value = {"data": _matrix(rng, rows)}
    elif kind == "standard":
        value = {"rows": _matrix(rng, rows)}
    elif kind == "pandas":
        value = {
            "frame": [
                {
                    "age": rng.randint(18, 90),
                    "income": round(rng.uniform(1000.0, 250000.0), 2),
                    "city": rng.choice(CITIES),
                    "member": rng.random() < 0.5,
                }
                for _ in range(rows)
            ]
        }
    else:
        raise ValueError(f"unknown payload kind {kind!r}")
    return json.dumps(value).encode()
