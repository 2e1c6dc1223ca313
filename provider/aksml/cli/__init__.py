"""The ``aksml`` command line (typer + rich).

Each sub-command lives in its own module exposing ``register(app)``; heavy imports happen
inside the command functions so ``aksml --help`` stays fast. User errors print one line and
exit 2; they never show a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from aksml.contract import EXIT_USAGE
from aksml.errors import WebserviceException

app = typer.Typer(
    name="aksml",
    help="Deploy ML models as authenticated scoring endpoints on Kubernetes (Azure ML v1 parity).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# modules that define sub-commands; each has register(app: typer.Typer) -> None
_COMMAND_MODULES: tuple[str, ...] = (
    "aksml.cli.config",
    "aksml.cli.run",
    "aksml.cli.keys",
    "aksml.cli.logs",
    "aksml.cli.diff",
    "aksml.cli.migrate",
    "aksml.cli.serve",
    "aksml.cli.render",
    "aksml.cli.schema",
)

for _module in _COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def fail(message: str) -> typer.Exit:
    """Print one clear error line to stderr and return the exit (raise it) with code 2."""
    first = message.strip().splitlines() or ["error"]
    typer.echo(f"error: {' '.join(line.strip() for line in first)}", err=True)
    return typer.Exit(EXIT_USAGE)


def quiet_azure_identity() -> None:
    """Keep azure-identity's multi-line credential-chain warnings off stderr: a failed token
    fetch is reported as one ``error:`` line by the command."""
    import logging

    logging.getLogger("azure.identity").setLevel(logging.ERROR)


def main() -> None:
    """Console-script entry point.

    Command-line usage errors (unknown option, missing argument, bad value) print one
    ``error:`` line naming the command's ``--help``, like every other user error.
    """
    try:
        result = app(prog_name="aksml", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        typer.echo(exc.format_message(), err=True)
        sys.exit(EXIT_USAGE)
    except UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "aksml"
        message = f"{exc.format_message().rstrip('.')} (see '{command} --help')"
        raise SystemExit(fail(message).exit_code) from None
    except ClickException as exc:
        raise SystemExit(fail(exc.format_message()).exit_code) from None
    except WebserviceException as exc:
        raise SystemExit(fail(exc.message).exit_code) from None
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
