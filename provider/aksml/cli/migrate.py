"""``aksml migrate``: an AML v1 service JSON or deploymentconfig.json -> an aksml config file and
(with --program) a ready Pulumi program."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _write(path: Path, text: str, force: bool) -> None:
    from aksml.cli import fail

    if path.exists() and not force:
        raise fail(f"{path} exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {path}", err=True)


def migrate_command(
    source: Annotated[
        Path,
        typer.Argument(help="AML v1 service JSON (GET / serialize()) or deploymentconfig.json."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the config file here (default: stdout)."),
    ] = None,
    program: Annotated[
        Path | None,
        typer.Option(
            "--program",
            help="Also write a Pulumi program here: __main__.py, Pulumi.yaml, deploy.yaml.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Service name for --program (default: the JSON's name)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Turn an AML v1 service into an aksml deploy configuration (validated with v1's rules)
    and, with --program, a Pulumi program using aksml.AksWebservice. What cannot be carried
    over is listed on stderr."""
    from aksml.cli import fail
    from aksml.errors import WebserviceException
    from aksml.offline.migrate import (
        CONFIG_FILE_NAME,
        PULUMI_SECRET_NAMES,
        SECRET_KEYS,
        config_document,
        config_yaml,
        main_py,
        migrate,
        next_steps,
        program_name,
        pulumi_yaml,
    )
    from aksml.v1 import from_aml_json, read_config_document

    try:
        data = read_config_document(source)
        migration = migrate(data)
        text = config_yaml(migration, source.name)
        # self-check: the file loads back to the same configuration
        import yaml

        again = from_aml_json(yaml.safe_load(text))
        expected = {k: v for k, v in config_document(migration).items() if k != "computeType"}
        reloaded = {k: v for k, v in again.given().items() if k not in SECRET_KEYS}
        if type(again) is not type(migration.config) or reloaded != expected:
            raise fail("the migrated configuration does not load back identically")
        files: dict[Path, str] = {}
        if output is not None:
            files[output] = text
        if program is not None:
            service = program_name(migration, name)
            files[program / CONFIG_FILE_NAME] = text
            files[program / "__main__.py"] = main_py(migration, service, source.name)
            files[program / "Pulumi.yaml"] = pulumi_yaml(service)
    except WebserviceException as exc:
        raise fail(exc.message) from None
    for path in files:
        if path.exists() and not force:
            raise fail(f"{path} exists; pass --force to overwrite it")
    if not files:
        typer.echo(text, nl=False)
    for path, content in files.items():
        _write(path, content, force=True)
    if migration.not_carried:
        typer.echo("not carried over:", err=True)
        for note in migration.not_carried:
            typer.echo(f"  - {note}", err=True)
    if program is not None:
        typer.echo("next steps:", err=True)
        for step in next_steps(migration, str(program)):
            typer.echo(f"  - {step}", err=True)
    else:
        for key in migration.secret_keys:
            typer.echo(
                f"keys: {key} is not written to any file; in the program, read it from a "
                f"Pulumi secret (pulumi config set --secret {PULUMI_SECRET_NAMES[key]} <value>).",
                err=True,
            )


def register(app: typer.Typer) -> None:
    """Add ``aksml migrate``."""
    app.command(
        "migrate",
        help="AML v1 service JSON / deploymentconfig.json -> aksml config (+ Pulumi program).",
    )(migrate_command)
