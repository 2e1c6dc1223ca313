"""Minimal scoring script: echoes the number of rows it was given."""

import json


def init() -> None:
    """Nothing to load for this example."""


def run(raw_data: str) -> dict[str, int]:
    """Count the rows in {"data": [[...], ...]}."""
    return {"rows": len(json.loads(raw_data)["data"])}
