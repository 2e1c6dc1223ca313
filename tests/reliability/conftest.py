"""Fixtures of the reliability suite: real ``aksml serve`` processes and a real nginx, all on
127.0.0.1. The process helpers live in ``bench/benchproc.py`` (shared with the benchmarks)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for _path in (_HERE, _HERE.parents[1] / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from relkit import RuntimeFactory  # noqa: E402


@pytest.fixture
def runtimes(tmp_path: Path) -> Iterator[RuntimeFactory]:
    """Start runtimes with ``runtimes.start(...)``; they stop at teardown, and the test fails
    if any key or token value shows up in their logs."""
    factory = RuntimeFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.stop_all()
    leaks = factory.leaked_secrets()
    assert not leaks, f"a key or token value appears in the logs of {leaks}"
