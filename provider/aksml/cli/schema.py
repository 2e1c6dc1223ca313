"""``aksml schema``: print or write the Pulumi package schema of the component provider."""

from pathlib import Path
from typing import Annotated

import typer


def schema(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file (provider/schema.json).", dir_okay=False
        ),
    ] = None,
) -> None:
    """Print the provider's Pulumi schema (JSON) as the engine infers it from the code."""
    from aksml.package import schema_json

    text = schema_json()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add ``aksml schema`` to the CLI."""
    app.command("schema")(schema)
