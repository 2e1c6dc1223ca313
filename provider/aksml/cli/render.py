"""``aksml render``: Kubernetes manifests for a config file or a Pulumi program, offline."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def render(
    source: Annotated[
        Path,
        typer.Argument(
            help="A Pulumi program directory (with __main__.py) or a deploymentconfig "
            ".json/.yaml file."
        ),
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output directory (flat).")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Service name for a config file (default: the file's stem)."),
    ] = None,
    entry_script: Annotated[
        str | None,
        typer.Option(
            "--entry-script",
            help="Config file only: score.py (relative to the file) shipped in a ConfigMap.",
        ),
    ] = None,
    clean: Annotated[
        bool, typer.Option("--clean", help="Remove existing *.yaml in the output directory first.")
    ] = False,
) -> None:
    """Render each Kubernetes object to <kind>-<name>.yaml (secrets redacted); no cluster needed."""
    from aksml.cli import fail
    from aksml.errors import WebserviceException
    from aksml.offline.render import render_source, write_render

    try:
        objs = render_source(source, name, entry_script)
        written = write_render(objs, out, clean=clean)
    except WebserviceException as exc:
        raise fail(exc.message) from None
    except Exception as exc:  # a user's program can raise anything: one line, exit 2
        raise fail(f"rendering {source} failed: {type(exc).__name__}: {exc}") from None
    rows = [
        (
            obj["kind"],
            str(obj["metadata"]["name"]),
            str(obj["metadata"].get("namespace", "")),
            fname,
        )
        for obj, fname in written
    ]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{len(rows)} objects -> {out}")
        for column in ("kind", "name", "namespace", "file"):
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    else:
        typer.echo("kind\tname\tnamespace\tfile")
        for row in rows:
            typer.echo("\t".join(row))
        typer.echo(f"{len(rows)} objects written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``render`` command to the ``aksml`` app."""
    app.command("render")(render)
