"""``aksml serve``: run a score.py (or front an HTTP model server) as an AKS-style scoring
endpoint. Every flag can also come from its environment variable (``aksml.contract``);
precedence: flag > environment > ``--config`` > defaults.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Annotated

import typer

from aksml import contract as c
from aksml.errors import WebserviceException


def _opt(setting: c.RuntimeSetting) -> object:
    return typer.Option(setting.flag, help=f"{setting.help} [env: {setting.env}]")


def _flag(setting: c.RuntimeSetting) -> object:
    name = setting.flag.removeprefix("--")
    return typer.Option(f"--{name}/--no-{name}", help=f"{setting.help} [env: {setting.env}]")


def serve(
    program_dir: Annotated[
        str | None,
        typer.Argument(
            help="Pulumi program directory: run every service it declares locally, from its "
            "rendered pods (see docs/runtime.md)."
        ),
    ] = None,
    entry_script: Annotated[str | None, _opt(c.ENTRY_SCRIPT)] = None,
    app_root: Annotated[str | None, _opt(c.APP_ROOT)] = None,
    source_dir: Annotated[str | None, _opt(c.SOURCE_DIRECTORY)] = None,
    model_dir: Annotated[str | None, _opt(c.MODEL_DIR)] = None,
    host: Annotated[str | None, _opt(c.HOST)] = None,
    port: Annotated[str | None, _opt(c.PORT)] = None,
    metrics_port: Annotated[str | None, _opt(c.METRICS_PORT)] = None,
    health_port: Annotated[str | None, _opt(c.HEALTH_PORT)] = None,
    config: Annotated[str | None, _opt(c.CONFIG)] = None,
    service_name: Annotated[str | None, _opt(c.SERVICE_NAME)] = None,
    auth_mode: Annotated[str | None, _opt(c.AUTH_MODE)] = None,
    primary_key: Annotated[str | None, _opt(c.PRIMARY_KEY)] = None,
    secondary_key: Annotated[str | None, _opt(c.SECONDARY_KEY)] = None,
    keys_file: Annotated[str | None, _opt(c.KEYS_FILE)] = None,
    token_issuer: Annotated[str | None, _opt(c.TOKEN_ISSUER)] = None,
    token_audience: Annotated[str | None, _opt(c.TOKEN_AUDIENCE)] = None,
    upstream: Annotated[str | None, _opt(c.UPSTREAM)] = None,
    upstream_score_path: Annotated[str | None, _opt(c.UPSTREAM_SCORE_PATH)] = None,
    upstream_swagger_path: Annotated[str | None, _opt(c.UPSTREAM_SWAGGER_PATH)] = None,
    max_concurrent_requests: Annotated[str | None, _opt(c.MAX_CONCURRENT_REQUESTS)] = None,
    max_request_wait_ms: Annotated[str | None, _opt(c.MAX_REQUEST_WAIT_MS)] = None,
    scoring_timeout_ms: Annotated[str | None, _opt(c.SCORING_TIMEOUT_MS)] = None,
    max_body_bytes: Annotated[str | None, _opt(c.MAX_BODY_BYTES)] = None,
    collect_model_data: Annotated[bool | None, _flag(c.COLLECT_MODEL_DATA)] = None,
    data_collection_dir: Annotated[str | None, _opt(c.DATA_COLLECTION_DIR)] = None,
    data_collection_blob_url: Annotated[str | None, _opt(c.DATA_COLLECTION_BLOB_URL)] = None,
    data_collection_sample_rate: Annotated[str | None, _opt(c.DATA_COLLECTION_SAMPLE_RATE)] = None,
    data_collection_max_record_bytes: Annotated[
        str | None, _opt(c.DATA_COLLECTION_MAX_RECORD_BYTES)
    ] = None,
    data_collection_buffer_bytes: Annotated[
        str | None, _opt(c.DATA_COLLECTION_BUFFER_BYTES)
    ] = None,
    data_collection_flush_ms: Annotated[str | None, _opt(c.DATA_COLLECTION_FLUSH_MS)] = None,
    app_insights_sample_rate: Annotated[str | None, _opt(c.APP_INSIGHTS_SAMPLE_RATE)] = None,
    access_log: Annotated[bool | None, _flag(c.ACCESS_LOG)] = None,
    cors_origins: Annotated[str | None, _opt(c.CORS_ORIGINS)] = None,
    server_version_header: Annotated[bool | None, _flag(c.SERVER_VERSION_HEADER)] = None,
    service_version: Annotated[str | None, _opt(c.SERVICE_VERSION)] = None,
    worker_mode: Annotated[str | None, _opt(c.WORKER_MODE)] = None,
    worker_prefetch: Annotated[str | None, _opt(c.WORKER_PREFETCH)] = None,
    show_keys: Annotated[bool | None, _flag(c.SHOW_KEYS)] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="With a program directory: run its rendered pods in containers with this "
            "engine (podman or docker) instead of in-process (see docs/containers.md).",
        ),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            help="With --engine: the runtime image to run instead of the "
            "rendered one (e.g. one built from the repository's Dockerfile).",
        ),
    ] = None,
    ca_bundle: Annotated[
        str | None,
        typer.Option(
            "--ca-bundle",
            help="With --engine: a CA bundle file mounted over the "
            "containers' system bundle (a TLS-intercepting proxy, a private index).",
        ),
    ] = None,
) -> None:
    """Serve score.py with AKS request semantics (auth, admission, timeouts, swagger)."""
    from aksml.runtime.server import serve as run_server
    from aksml.runtime.settings import resolve_settings

    if program_dir is not None:
        from pathlib import Path

        if engine is not None:
            from aksml.offline.engine import serve_program

            bundle = Path(ca_bundle) if ca_bundle else None
            raise typer.Exit(
                serve_program(Path(program_dir), engine, image=image, ca_bundle=bundle)
            )
        from aksml.offline.localrun import run_program

        raise typer.Exit(run_program(Path(program_dir)))
    if engine is not None or image is not None or ca_bundle is not None:
        raise WebserviceException(
            "Error, --engine, --image and --ca-bundle need a program directory."
        )
    flags = dict(locals())
    for name in ("program_dir", "engine", "image", "ca_bundle"):
        del flags[name]
    _script_environment(os.environ)
    settings = resolve_settings(flags, os.environ)
    raise typer.Exit(run_server(settings))


def _script_environment(environ: MutableMapping[str, str]) -> None:
    """``AML_APP_INSIGHTS_ENABLED`` as score.py saw it under azureml-inference-server-http:
    always ``true`` or ``false`` (``true`` with Application Insights on: a connection string, or
    the reference's enabled flag with a valid key)."""
    from aksml.runtime.azmlinfsrv import ENV_INSIGHTS_ENABLED, normalise_app_insights

    if environ.get(c.APP_INSIGHTS_CONNECTION_STRING_ENV, "").strip():
        environ.setdefault(ENV_INSIGHTS_ENABLED, "true")
        return
    for message in normalise_app_insights(environ):
        typer.echo(f"aksml serve: {message}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``aksml serve`` to the CLI."""
    app.command("serve")(serve)
