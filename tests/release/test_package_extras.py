"""The Pulumi package (``aksml schema``) is the same whether or not the ``azure`` extra is
installed: ``pulumi package add`` installs the provider with a plain ``uv sync`` (no extras)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from aksml.package import SCHEMA_FILE, schema_json

# Runs `aksml schema` in a fresh interpreter in which every module of the azure extra fails to
# import, as in an environment where the extra is not installed.
WITHOUT_AZURE = textwrap.dedent(
    """
    import importlib.abc, sys

    EXTRA = ("azure", "pulumi_azure_native", "pulumi_azuread", "pulumi_docker_build")

    class NotInstalled(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in EXTRA:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    try:
        import pulumi_azure_native  # noqa: F401
    except ModuleNotFoundError:
        pass
    else:
        raise SystemExit("the azure extra is still importable")
    """
)
SCHEMA = WITHOUT_AZURE + 'sys.argv = ["aksml", "schema"]\nfrom aksml.cli import main\nmain()\n'
AZURE_SECTION = WITHOUT_AZURE + textwrap.dedent(
    """
    from aksml.azure import load_wiring
    from aksml.errors import WebserviceException
    try:
        load_wiring("AksWebservice")
    except WebserviceException as exc:
        print(exc.message)
    """
)


def test_schema_without_the_azure_extra_equals_the_checked_in_schema() -> None:
    import pulumi_azure_native  # noqa: F401  (this environment has the extra)

    result = subprocess.run(
        [sys.executable, "-c", SCHEMA], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    with_extra = schema_json()
    assert result.stdout == with_extra
    assert SCHEMA_FILE.read_text(encoding="utf-8") == with_extra


def test_azure_section_without_the_extra_is_one_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-c", AZURE_SECTION], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Error, the AksWebservice 'azure' section needs the 'azure' extra "
        "(pip install 'aksml[azure]'); pulumi_azure_native is not installed.\n"
    )
