"""``aksml keys`` and ``aksml token``: a service's keys, and access tokens for token auth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def keys_command(
    ctx: typer.Context,
    from_outputs: Annotated[
        Path | None,
        typer.Option(
            "--from-outputs",
            help="Stack outputs JSON (pulumi stack output --json --show-secrets).",
        ),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", help="With --from-outputs: the output object of the service."),
    ] = None,
    from_secret: Annotated[
        Path | None,
        typer.Option(
            "--from-secret",
            help="A Secret manifest / kubectl get secret -o json file, or a mounted directory.",
        ),
    ] = None,
    secret_name: Annotated[
        str | None,
        typer.Option("--secret-name", help="With --from-secret: the Secret's metadata.name."),
    ] = None,
) -> None:
    """Print the primary and secondary keys as JSON ({"primaryKey": ..., "secondaryKey": ...},
    the shape of v1's listkeys)."""
    if ctx.invoked_subcommand is not None:
        return
    from aksml.cli import fail
    from aksml.cli.run import print_json
    from aksml.client import read_secret_keys, read_stack_outputs
    from aksml.errors import WebserviceException

    if (from_outputs is None) == (from_secret is None):
        raise fail("give exactly one of --from-outputs or --from-secret")
    try:
        if from_outputs is not None:
            found = read_stack_outputs(from_outputs, service)
            if found.primary_key is None:
                raise fail(f"{from_outputs} has no primary_key output (is key auth enabled?)")
            primary, secondary = found.primary_key, found.secondary_key
        else:
            assert from_secret is not None
            primary, secondary = read_secret_keys(from_secret, secret_name)
    except WebserviceException as exc:
        raise fail(exc.message) from None
    print_json({"primaryKey": primary, "secondaryKey": secondary})


KEY_GENERATION_ARGS = {"primary": "primary_key_generation", "secondary": "secondary_key_generation"}
"""The component argument whose change regenerates each key (AksWebservice, AksEndpoint)."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def regen_command(
    primary: Annotated[bool, typer.Option("--primary", help="Regenerate the primary key.")] = False,
    secondary: Annotated[
        bool, typer.Option("--secondary", help="Regenerate the secondary key.")
    ] = False,
    current: Annotated[
        int,
        typer.Option(
            "--current", min=0, help="The key's generation in the stack today (0: unset)."
        ),
    ] = 0,
) -> None:
    """Print the one-line change to the service's args that regenerates a key (v1's
    regen_key): bump its generation counter, then run `pulumi up`. Zero-downtime order:
    secondary first, move clients to it, then primary (docs/auth.md)."""
    from aksml.cli import fail

    if primary == secondary:
        raise fail("give exactly one of --primary or --secondary")
    arg = KEY_GENERATION_ARGS["primary" if primary else "secondary"]
    new = current + 1
    typer.echo(
        f"set {arg}={new} (YAML/TypeScript: {_camel(arg)}: {new}) in the service's args, "
        "then run pulumi up"
    )


def token_command(
    audience: Annotated[
        str,
        typer.Option(
            "--audience", help="Token audience (or a scope ending in /.default) of the service."
        ),
    ],
) -> None:
    """Print an Entra ID access token for a token-auth service as JSON (accessToken, tokenType,
    refreshAfter, expiryOn; v1's WebServiceAccessToken). Uses azure-identity's
    DefaultAzureCredential (the 'azure' extra)."""
    from aksml.cli import fail, quiet_azure_identity
    from aksml.cli.run import print_json
    from aksml.client import AzureIdentityTokenProvider
    from aksml.errors import WebserviceException

    quiet_azure_identity()
    try:
        token = AzureIdentityTokenProvider(audience)()
    except WebserviceException as exc:
        raise fail(exc.message) from None
    print_json(token.serialize())


def register(app: typer.Typer) -> None:
    """Add ``aksml keys`` (``aksml keys regen``) and ``aksml token``."""
    keys = typer.Typer(
        help="Print a service's keys (from stack outputs or a Secret file); `regen` prints how "
        "to regenerate one.",
        invoke_without_command=True,
    )
    keys.callback()(keys_command)
    keys.command("regen", help="Print the config change that regenerates a key.")(regen_command)
    app.add_typer(keys, name="keys")
    app.command("token", help="Print an access token for a token-auth service.")(token_command)
