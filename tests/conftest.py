"""Shared by every test directory: ``tests/`` is importable for its helper modules
(``startable``); appended, so each directory's own modules and conftest come first."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
