"""Reliability fixture: run() that calls sys.exit() when asked (user code does such things)."""

import json
import sys


def init() -> None:
    """Nothing to load."""


def run(raw_data: str) -> dict[str, bool]:
    """``{"exit": true}`` calls sys.exit(1); anything else answers ``{"ok": true}``."""
    if json.loads(raw_data).get("exit"):
        sys.exit(1)
    return {"ok": True}
