"""``aksml keys regen``: the one-line change that regenerates a key (v1's ``regen_key``)."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from aksml.cli import app


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, ["keys", "regen", *args])


def test_regen_prints_the_generation_bump() -> None:
    result = invoke("--secondary")
    assert result.exit_code == 0
    assert result.stdout == (
        "set secondary_key_generation=1 (YAML/TypeScript: secondaryKeyGeneration: 1) in the "
        "service's args, then run pulumi up\n"
    )
    result = invoke("--primary", "--current", "4")
    assert result.stdout.startswith("set primary_key_generation=5 (")


def test_regen_needs_exactly_one_key() -> None:
    for args in ((), ("--primary", "--secondary")):
        result = invoke(*args)
        assert result.exit_code == 2
        assert result.stderr == "error: give exactly one of --primary or --secondary\n"
    assert invoke("--primary", "--current", "-1").exit_code == 2
