"""Fixtures for tests/azure: makes the helper module ``azure_fakes`` importable."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from azure_fakes import azure_mocks

__all__ = ["azure_mocks"]
