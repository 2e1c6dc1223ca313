"""The package stays ruff-clean and mypy --strict clean, and the layers stay apart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_clean() -> None:
    dirs = [d for d in ("provider", "tests", "bench", "examples") if (ROOT / d).is_dir()]
    result = _run(sys.executable, "-m", "ruff", "check", *dirs)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_clean() -> None:
    result = _run(sys.executable, "-m", "mypy", "--strict", "-p", "aksml")
    assert result.returncode == 0, result.stdout + result.stderr


# module -> packages it must never import, directly or transitively (docs/architecture.md)
_KUBE = ("pulumi", "pulumi_kubernetes", "kubernetes")
FORBIDDEN = {
    "aksml.v1": (*_KUBE, "aksml.plan", "aksml.components"),
    "aksml.v1.params": (*_KUBE, "pydantic"),
    "aksml.contract": (*_KUBE, "pydantic"),
    "aksml.plan.endpoint": (*_KUBE, "aksml.components", "aksml.azure", "aksml.offline"),
    "aksml.runtime.server": (*_KUBE, "pydantic", "aksml.plan", "aksml.components"),
}


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_layer_imports(module: str) -> None:
    forbidden = FORBIDDEN[module]
    code = (
        f"import sys, importlib; importlib.import_module({module!r}); "
        f"bad = sorted(m for m in sys.modules if any(m == f or m.startswith(f + '.') "
        f"for f in {forbidden!r})); "
        "print(','.join(bad))"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"


def test_no_merge_conflict_markers() -> None:
    """A merge that landed with unresolved conflict markers broke README.md once."""
    files = _run("git", "ls-files").stdout.split()
    markers = ("<<<<<<< ", ">>>>>>> ")
    bad: list[str] = []
    for name in files:
        path = ROOT / name
        if path.suffix not in {".md", ".py", ".yaml", ".yml", ".toml", ".json", ".txt"}:
            continue
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith(markers) or line == "=======":
                bad.append(f"{name}:{number}")
    assert bad == [], f"unresolved merge conflict markers: {bad}"
