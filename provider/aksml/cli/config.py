"""``aksml config show FILE``: validate a deploy configuration file and print its resolved view."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer


def _plain(value: Any) -> str:
    """Stable one-line rendering: strings as they are, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def resolved_rows(path: Path) -> dict[str, Any]:
    """Load ``path`` and return the rows to print: kind, endpoint fields, then the resolved view."""
    from aksml.v1 import AksEndpointDeploymentConfiguration, load_config

    config = load_config(path)
    rows: dict[str, Any] = {"kind": config.WEBSERVICE_TYPE}
    if isinstance(config, AksEndpointDeploymentConfiguration):
        rows["version_name"] = config.version_name
        rows["traffic_percentile"] = config.traffic_percentile
    rows.update(config.resolve().model_dump(mode="json"))
    return rows


def show(
    file: Annotated[Path, typer.Argument(help="deploymentconfig.json, or a .yaml/.yml file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
) -> None:
    """Validate a deploy configuration (AML v1 JSON or YAML) and print the resolved settings."""
    rows = resolved_rows(file)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{file} (defaults applied)")
        table.add_column("parameter")
        table.add_column("value")
        for key, value in rows.items():
            table.add_row(key, _plain(value))
        Console().print(table)
    else:
        for key, value in rows.items():
            typer.echo(f"{key}: {_plain(value)}")


def register(app: typer.Typer) -> None:
    """Add the ``config`` command group to the ``aksml`` app."""
    group = typer.Typer(
        name="config", help="Deploy configuration files (AML v1 JSON / YAML).", no_args_is_help=True
    )
    group.command("show")(show)
    app.add_typer(group, name="config")
