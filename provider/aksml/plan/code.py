"""Reading scoring code (entry script + source directory) from disk into a CodeBundle."""

from __future__ import annotations

from pathlib import Path

from aksml.errors import WebserviceException
from aksml.plan.settings import CodeBundle

_SKIP_DIRS = frozenset({"__pycache__", ".git", ".venv", "venv", "node_modules", ".mypy_cache"})
_SKIP_SUFFIXES = (".pyc", ".pyo")

SINGLE_FILE_DIRECTORY = "app"
"""AZUREML_SOURCE_DIRECTORY used when only an entry script (no source directory) is shipped."""


def load_code(
    entry_script: str, source_directory: str | None = None, base: Path | None = None
) -> tuple[str, CodeBundle]:
    """(entry script relative to the bundle, bundle) read from ``base`` (default: cwd).

    With a source directory, every file under it is shipped (caches and VCS folders skipped)
    and ``entry_script`` is relative to it, as in v1's InferenceConfig.
    """
    root = base or Path.cwd()
    if source_directory:
        src = (root / source_directory).resolve()
        if not src.is_dir():
            raise WebserviceException(f"Error, source_directory {source_directory!r} not found.")
        entry = src / entry_script
        if not entry.is_file():
            raise WebserviceException(
                f"Error, entry_script {entry_script!r} not found in source_directory "
                f"{source_directory!r}."
            )
        files: dict[str, bytes] = {}
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src)
            if any(part in _SKIP_DIRS for part in rel.parts) or not path.is_file():
                continue
            if path.name.endswith(_SKIP_SUFFIXES):
                continue
            files[rel.as_posix()] = path.read_bytes()
        return entry.relative_to(src).as_posix(), CodeBundle(directory_name=src.name, files=files)
    entry = (root / entry_script).resolve()
    if not entry.is_file():
        raise WebserviceException(f"Error, entry_script {entry_script!r} not found.")
    bundle = CodeBundle(
        directory_name=SINGLE_FILE_DIRECTORY, files={entry.name: entry.read_bytes()}
    )
    return entry.name, bundle
