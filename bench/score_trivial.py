"""Trivial scoring script for the benchmarks: the same file for every server."""

import json


def init() -> None:
    """Nothing to load."""


def run(raw_data: str) -> dict[str, int]:
    """Echo the number of rows in ``{"data": [...]}``."""
    return {"rows": len(json.loads(raw_data)["data"])}
