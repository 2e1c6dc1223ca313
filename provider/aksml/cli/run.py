"""``aksml run``: score one request against a service (v1's ``Webservice.run()``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from aksml.contract import EXIT_USAGE

EXIT_SERVICE_ERROR = 1
"""Exit code when the service answered with an error or could not be reached."""


def print_json(value: Any) -> None:
    """Print JSON to stdout: highlighted on a terminal, plain stable text when piped."""
    text = json.dumps(value, indent=2, ensure_ascii=False, default=_iso)
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print_json(text)
    else:
        typer.echo(text)


def _iso(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def read_data(data: str) -> bytes:
    """``--data`` value: ``@file`` (``@-`` = stdin) or inline JSON; must be valid JSON."""
    from aksml.cli import fail

    if data.startswith("@"):
        source = data[1:]
        try:
            body = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        except OSError as exc:
            raise fail(f"cannot read --data file {source}: {exc.strerror or exc}") from None
    else:
        body = data.encode("utf-8")
    try:
        json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(f"--data is not valid JSON: {exc}") from None
    return body


def run_command(
    data: Annotated[
        str,
        typer.Option(
            "--data", "-d", help="Request body: inline JSON, @file.json, or @- for stdin."
        ),
    ],
    scoring_uri: Annotated[
        str | None,
        typer.Option("--scoring-uri", help="Scoring URI (default: from --outputs)."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--key", envvar="AKSML_KEY", help="Auth key (env AKSML_KEY)."),
    ] = None,
    token_audience: Annotated[
        str | None,
        typer.Option(
            "--token-audience", help="Token auth: get an Entra ID token for this audience."
        ),
    ] = None,
    outputs: Annotated[
        Path | None,
        typer.Option(
            "--outputs",
            help="Stack outputs JSON (pulumi stack output --json --show-secrets): URI and keys.",
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", help="With --outputs: the output object holding the service."),
    ] = None,
    secret: Annotated[
        Path | None,
        typer.Option("--secret", help="Keys from a Kubernetes Secret file or mounted directory."),
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries on 408/429/5xx/connection errors.")
    ] = 3,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="Seconds per attempt.")
    ] = 90.0,
) -> None:
    """POST --data to a scoring endpoint and print the JSON response (exit 1 on a service
    error, 2 on bad input)."""
    from aksml.cli import fail, quiet_azure_identity
    from aksml.client import (
        RetryPolicy,
        ServiceConnectionError,
        ServiceResponseError,
        Webservice,
    )
    from aksml.errors import WebserviceException

    quiet_azure_identity()
    sources = [
        name
        for name, v in (("--key", key), ("--token-audience", token_audience), ("--secret", secret))
        if v is not None
    ]
    if len(sources) > 1:
        raise fail(f"use only one of {', '.join(sources)}")
    body = read_data(data)
    options: dict[str, Any] = {"retry": RetryPolicy(retries=retries), "timeout": timeout}
    if key is not None:
        options["key"] = key
    if token_audience is not None:
        options["token_audience"] = token_audience
    try:
        if outputs is not None:
            ws = Webservice.from_stack_outputs(outputs, name=service, **options)
            if scoring_uri is not None:
                ws.scoring_uri = scoring_uri
        elif scoring_uri is None:
            raise fail("give --scoring-uri or --outputs")
        elif secret is not None:
            ws = Webservice.from_secret(scoring_uri, secret, **options)
        else:
            ws = Webservice(scoring_uri, **options)
        with ws:
            result = ws.run(body)
    except (ServiceResponseError, ServiceConnectionError) as exc:
        summary = exc.summary() if isinstance(exc, ServiceResponseError) else exc.message
        typer.echo(f"error: {summary}", err=True)
        raise typer.Exit(EXIT_SERVICE_ERROR) from None
    except WebserviceException as exc:
        raise fail(exc.message) from None
    print_json(result)


def register(app: typer.Typer) -> None:
    """Add ``aksml run``."""
    app.command(
        "run",
        help="Score a request against a service (v1 Webservice.run()).",
        epilog=f"Exit codes: 0 ok, {EXIT_SERVICE_ERROR} service error, {EXIT_USAGE} bad input.",
    )(run_command)
