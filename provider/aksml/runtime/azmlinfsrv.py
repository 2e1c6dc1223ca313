"""The ``azmlinfsrv`` command: azureml-inference-server-http 1.5.1's command line, environment
variables, configuration file and log lines, serving with aksml's runtime.

Images, VS Code launch configurations and scripts that run ``azmlinfsrv --entry_script
score.py`` switch without changes. Behaviour follows the reference package (``amlserver.py``,
``args.py``, ``server/config.py``):

* flags ``--entry_script``, ``--model_dir``, ``--port``, ``--health_port``, ``--worker_count``,
  ``--appinsights_instrumentation_key``, ``--access_control_allow_origins``, ``--config_file``
  (and the hidden ``--rest``); a bad command line prints the help and exits 1;
* precedence command line > environment > configuration file (``--config_file``, else
  ``AZUREML_CONFIG_FILE``, else a non-empty ``config.json`` in the app root or beside the entry
  script) > the reference's defaults;
* lenient values: ``SERVER_VERSION_LOG_RESPONSE_ENABLED`` other than ``true`` hides the
  version header; ``AML_APP_INSIGHTS_ENABLED`` other than ``true``, or an instrumentation key
  that is not a UUID, disables Application Insights and the server starts;
* the environment score.py sees: ``AML_APP_INSIGHTS_ENABLED`` always ``true``/``false``,
  ``AZUREML_MODEL_DIR`` unset unless given, ``SERVER_PORT``, ``HEALTH_PORT``, ``WORKER_COUNT``,
  ``AML_APP_ROOT``, ``AZUREML_ENTRY_SCRIPT`` as the reference sets them;
* the reference's startup lines ("Server Settings", "Server Routes"), its log format, ``print()``
  as ``azmlinfsrv.print`` records and one access line per scoring request
  (``POST /score 200 1.234ms 17``; ``N/A`` for a streamed body).

aksml's own ``AKSML_*`` variables still apply to what the reference has no setting for (auth
keys, metrics port, data collection, ...). What differs is listed in docs/runtime.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import MutableMapping, Sequence
from typing import Any, Final

from aksml import contract as c
from aksml.runtime import amllog
from aksml.runtime.hooks import RequestRecord
from aksml.runtime.server import Announcer, serve
from aksml.runtime.settings import RuntimeSettings

log = logging.getLogger(amllog.SERVER_LOGGER)

DEFAULT_HEALTH_PORT: Final = 5000
DEFAULT_WORKER_COUNT: Final = 1
DEFAULT_WORKER_TIMEOUT_S: Final = 300
"""gunicorn's worker timeout in the reference: a request running longer loses its worker."""
DEFAULT_SCORING_TIMEOUT_MS: Final = 3_600_000
"""The reference server's SCORING_TIMEOUT_MS default (one hour)."""
EXIT_BAD_COMMAND_LINE: Final = 1
"""The reference's exit code for a bad command line."""

# the reference's environment variable names
ENV_PORT: Final = "SERVER_PORT"
ENV_HEALTH_PORT: Final = "HEALTH_PORT"
ENV_SEPARATE_HEALTH: Final = "SEPERATE_HEALTH_ENDPOINT"  # sic: the reference's spelling
ENV_WORKER_COUNT: Final = "WORKER_COUNT"
ENV_WORKER_TIMEOUT: Final = "WORKER_TIMEOUT"
ENV_INSIGHTS_ENABLED: Final = "AML_APP_INSIGHTS_ENABLED"
ENV_INSIGHTS_KEY: Final = "AML_APP_INSIGHTS_KEY"
ENV_VERSION_ENABLED: Final = c.SERVER_VERSION_HEADER.env
ENV_VERSION: Final = "HTTP_X_MS_SERVER_VERSION"
ENV_CONFIG_FILE: Final = "AZUREML_CONFIG_FILE"
ENV_TRANSPORT: Final = "TRANSPORT_PROTOCOL"
ENV_SCORING_TIMEOUT: Final = "SCORING_TIMEOUT_MS"
ENV_LOG_LEVEL: Final = "AZUREML_LOG_LEVEL"

CONFIG_FILE_KEYS: Final = frozenset(
    {
        "AML_APP_ROOT",
        "AZUREML_SOURCE_DIRECTORY",
        "AZUREML_ENTRY_SCRIPT",
        "SERVICE_NAME",
        "WORKSPACE_NAME",
        "SERVICE_PATH_PREFIX",
        "SERVICE_VERSION",
        "SCORING_TIMEOUT_MS",
        "AZUREML_LOG_LEVEL",
        "AML_APP_INSIGHTS_ENABLED",
        "AML_APP_INSIGHTS_KEY",
        "AML_MODEL_DC_STORAGE_ENABLED",
        "APP_INSIGHTS_LOG_RESPONSE_ENABLED",
        "AML_CORS_ORIGINS",
        "AZUREML_MODEL_DIR",
        "HOSTNAME",
        "AZUREML_DEBUG_PORT",
    }
)
"""Keys the reference's configuration file knows (others are warned about and ignored)."""

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z", re.I)

_SETTINGS_LINES: Final = (
    (c.ENTRY_SCRIPT.env, "Entry Script Name"),
    (c.MODEL_DIR.env, "Model Directory"),
    (ENV_CONFIG_FILE, "Config File"),
    (ENV_WORKER_COUNT, "Worker Count"),
    (ENV_WORKER_TIMEOUT, "Worker Timeout (seconds)"),
    (ENV_PORT, "Server Port"),
    (ENV_HEALTH_PORT, "Health Port"),
    (ENV_INSIGHTS_ENABLED, "Application Insights Enabled"),
    (ENV_INSIGHTS_KEY, "Application Insights Key"),
    (ENV_VERSION, "Inferencing HTTP server version"),
    (c.CORS_ORIGINS.env, "CORS for the specified origins"),
    (ENV_SEPARATE_HEALTH, "Create dedicated endpoint for health"),
)


def _port(value: str) -> int:
    port = int(value)
    if port < 1 or port > 65535:
        raise ValueError(f"Specified port '{port}' is invalid.")
    return port


def _worker_count(value: str) -> int:
    count = int(value)
    if count <= 0:
        raise ValueError(f"Specified worker count '{count}' is invalid.")
    return count


def build_parser() -> argparse.ArgumentParser:
    """The reference's argument parser (same flags, same help)."""
    from aksml import __version__

    parser = argparse.ArgumentParser(
        prog="azmlinfsrv",
        description=f"Azure ML Inferencing HTTP server (aksml {__version__})",
    )
    parser.add_argument(
        "--entry_script", help="The relative or absolute path to the scoring script."
    )
    parser.add_argument(
        "--model_dir",
        help="The relative or absolute path to the model directory, exported as AZUREML_MODEL_DIR.",
    )
    parser.add_argument(
        "--appinsights_instrumentation_key",
        help="The instrumentation key of the Application Insights resource logs are sent to.",
    )
    parser.add_argument(
        "--port", type=_port, help="The serving port of the server. Default is 5001."
    )
    parser.add_argument(
        "--health_port", type=_port, help="The health port of the server. Default is 5000."
    )
    parser.add_argument(
        "--worker_count",
        type=_worker_count,
        help="The number of workers which will process concurrent requests. Default is 1.",
    )
    parser.add_argument(
        "--access_control_allow_origins",
        help='Enable CORS for the specified origins. Separate multiple origins with ",".',
    )
    parser.add_argument(
        "--config_file", help="The relative or absolute path to the configuration file"
    )
    parser.add_argument("--rest", default=False, action="store_true", help=argparse.SUPPRESS)
    return parser


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace | None:
    """Parsed flags; None (after printing the help) for a bad command line."""
    parser = build_parser()
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code == 0:  # --help
            raise
        print()
        parser.usage = argparse.SUPPRESS
        parser.print_help()
        return None


def _set(
    environ: MutableMapping[str, str], name: str, value: object, default: object = None
) -> None:
    """The reference's set_environment_variables: the flag wins, then the environment, then the
    default (never a variable set to ``None``)."""
    if value is not None:
        environ[name] = str(value)
    elif name not in environ and default is not None:
        environ[name] = str(default)


def merge_environment(
    args: argparse.Namespace, environ: MutableMapping[str, str], cwd: str
) -> None:
    """Put the command line into the environment as the reference's merge_configuration."""
    from aksml import __version__

    environ.setdefault(c.APP_ROOT.env, cwd)
    if args.entry_script:
        environ[c.ENTRY_SCRIPT.env] = os.path.realpath(os.path.join(cwd, args.entry_script))
    environ[ENV_TRANSPORT] = "rest" if args.rest else "grpc"
    _set(environ, c.MODEL_DIR.env, args.model_dir)
    _set(environ, ENV_WORKER_COUNT, args.worker_count, DEFAULT_WORKER_COUNT)
    if environ.get(ENV_VERSION_ENABLED, "true").lower() == "true":
        _set(environ, ENV_VERSION, f"aksml/{__version__}")
    environ[ENV_PORT] = str(args.port or c.DEFAULT_PORT)  # SERVER_PORT from outside is ignored
    if environ.get(ENV_SEPARATE_HEALTH) == "true":
        environ[ENV_HEALTH_PORT] = str(args.health_port or DEFAULT_HEALTH_PORT)
    else:
        _set(environ, ENV_HEALTH_PORT, args.port, c.DEFAULT_PORT)
    if args.appinsights_instrumentation_key is not None:
        environ[ENV_INSIGHTS_ENABLED] = "true"
    _set(environ, ENV_INSIGHTS_KEY, args.appinsights_instrumentation_key)
    if args.access_control_allow_origins is not None:
        environ[c.CORS_ORIGINS.env] = args.access_control_allow_origins
    if args.config_file:
        environ[ENV_CONFIG_FILE] = os.path.realpath(os.path.join(cwd, args.config_file))


def normalise_app_insights(environ: MutableMapping[str, str]) -> list[str]:
    """``AML_APP_INSIGHTS_ENABLED`` becomes ``true`` or ``false`` as the reference decides it
    (``true`` only when set to ``true`` with a UUID ``AML_APP_INSIGHTS_KEY``); returns the
    reference's messages. With it on and no ``APPLICATIONINSIGHTS_CONNECTION_STRING``, the key
    becomes the connection string aksml's telemetry exports with."""
    messages: list[str] = []
    key = environ.get(ENV_INSIGHTS_KEY)
    if environ.get(ENV_INSIGHTS_ENABLED) == "true" and key is not None:
        if _UUID.match(key):
            messages.append("Valid Application Insights instrumentation key provided.")
            environ.setdefault(c.APP_INSIGHTS_CONNECTION_STRING_ENV, f"InstrumentationKey={key}")
            return messages
        messages += [
            "Invalid Application Insights instrumentation key provided.",
            "Application Insights has been disabled.",
        ]
    environ[ENV_INSIGHTS_ENABLED] = "false"
    return messages


def config_file_path(environ: MutableMapping[str, str]) -> str | None:
    """The reference's choice of configuration file (``get_config_file``)."""
    roots = [environ.get(c.APP_ROOT.env, c.APP_ROOT_DIR)]
    entry = environ.get(c.ENTRY_SCRIPT.env)
    if entry:
        roots.append(os.path.dirname(os.path.abspath(entry)))
    candidates = [environ.get(ENV_CONFIG_FILE)] + [os.path.join(r, "config.json") for r in roots]
    for path in candidates:
        if path and os.path.isfile(path) and os.path.getsize(path) > 0:
            return path
    return None


def read_config_file(path: str | None) -> dict[str, Any]:
    """The known keys of the configuration file (warning about the others, as the reference);
    raises ValueError for a file that is not a JSON object."""
    if path is None:
        return {}
    with open(path, encoding="utf-8") as handle:
        values = json.load(handle)
    if not isinstance(values, dict):
        raise ValueError("the configuration file must hold a JSON object")
    extra = [k for k in values if k not in CONFIG_FILE_KEYS]
    if extra:
        log.warning(
            "Found extra keys in the config file that are not supported by the server.\n"
            "Extra keys = %s",
            extra,
        )
    return {k: v for k, v in values.items() if k in CONFIG_FILE_KEYS and v is not None}


def settings_lines(environ: MutableMapping[str, str]) -> list[str]:
    """The reference's startup lines: server info, "Server Settings" and "Server Routes"."""
    from aksml import __version__

    lines = ["", f"Azure ML Inferencing HTTP server (aksml v{__version__})", ""]
    lines += ["", "Server Settings", "---------------"]
    for name, title in _SETTINGS_LINES:
        if name == ENV_INSIGHTS_KEY and name in environ:
            lines.append(f"{title}: AppInsights key provided")
        elif name == c.CORS_ORIGINS.env and name in environ:
            lines.append(f"{title}: Enabling CORS for {environ[name]}")
        else:
            lines.append(f"{title}: {environ.get(name)}")
    lines += ["", "", "Server Routes", "---------------"]
    lines.append(f"Liveness Probe: GET   127.0.0.1:{environ[ENV_HEALTH_PORT]}/")
    lines.append(f"Score:          POST  127.0.0.1:{environ[ENV_PORT]}/score")
    lines.append("")
    return lines


def _pick(environ: MutableMapping[str, str], file: dict[str, Any], name: str) -> Any:
    """The environment's value, else the configuration file's (the reference's precedence)."""
    return environ[name] if name in environ else file.get(name)


def _int_value(value: object, name: str, default: int, low: int = 1) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"invalid value {value!r} for {name}: expected an integer") from None
    if number < low:
        raise ValueError(f"invalid value {value!r} for {name}: must be at least {low}")
    return number


def settings_flags(environ: MutableMapping[str, str], file: dict[str, Any]) -> dict[str, object]:
    """Values for :func:`aksml.runtime.settings.resolve_settings` (keyed by settings field)
    from the merged environment and the configuration file. The scoring timeout is the
    smaller of ``SCORING_TIMEOUT_MS`` and ``WORKER_TIMEOUT`` (gunicorn ended a request running
    past it); requests wait for a worker up to the scoring timeout (gunicorn's backlog had no
    bound); the metrics port is off unless ``AKSML_METRICS_PORT`` is set."""
    scoring = _int_value(
        _pick(environ, file, ENV_SCORING_TIMEOUT), ENV_SCORING_TIMEOUT, DEFAULT_SCORING_TIMEOUT_MS
    )
    worker_timeout = _int_value(
        environ.get(ENV_WORKER_TIMEOUT), ENV_WORKER_TIMEOUT, DEFAULT_WORKER_TIMEOUT_S, low=0
    )
    if worker_timeout:  # gunicorn: 0 disables its timeout
        scoring = min(scoring, worker_timeout * 1000)
    workers = _int_value(environ.get(ENV_WORKER_COUNT), ENV_WORKER_COUNT, DEFAULT_WORKER_COUNT)
    separate = environ.get(ENV_SEPARATE_HEALTH) == "true"
    return {
        "entry_script": environ.get(c.ENTRY_SCRIPT.env) or file.get(c.ENTRY_SCRIPT.env),
        "app_root": environ.get(c.APP_ROOT.env),
        "source_dir": _pick(environ, file, c.SOURCE_DIRECTORY.env),
        "model_dir": _pick(environ, file, c.MODEL_DIR.env),
        "port": environ[ENV_PORT],
        "health_port": environ[ENV_HEALTH_PORT] if separate else "0",
        "metrics_port": environ.get(c.METRICS_PORT.env, "0"),
        "service_name": _pick(environ, file, "SERVICE_NAME"),
        "service_version": _pick(environ, file, "SERVICE_VERSION"),
        "scoring_timeout_ms": str(scoring),
        "max_request_wait_ms": environ.get(c.MAX_REQUEST_WAIT_MS.env, str(scoring)),
        "max_concurrent_requests": str(workers),
        "cors_origins": _pick(environ, file, c.CORS_ORIGINS.env),
        "server_version_header": environ.get(ENV_VERSION_ENABLED, "true").lower() == "true",
    }


def access_line(record: RequestRecord) -> None:
    """The reference's line per scoring request: ``POST /score?a=1 200 1.234ms 17``."""
    path = record.path
    if record.query:
        path += "?" + record.query.decode("latin-1")
    length = "N/A" if record.streamed else str(len(record.output))
    log.info("%s %s %d %.3fms %s", record.method, path, record.status, record.total_ms, length)


class ReferenceAnnouncer(Announcer):
    """The reference server's lines instead of ``aksml serve``'s banner."""

    def listening(self, banner: list[str]) -> None:
        """aksml's banner at debug level (the reference's lines were printed already)."""
        for line in banner:
            logging.getLogger("aksml.runtime").debug("%s", line)

    def ready(self, settings: RuntimeSettings) -> None:
        """The reference's lines once init() returned."""
        logging.getLogger(amllog.USER_SCRIPT_LOGGER).info("Users's init has completed successfully")
        log.info("Scoring timeout is set to %d", settings.scoring_timeout_ms)
        log.info("Worker with pid %d ready for serving traffic", os.getpid())

    def load_failed(self, exc: BaseException) -> None:
        """The reference's lines for a script that did not load or an init() that raised."""
        if str(exc).startswith("init() raised"):
            log.error("User's init function failed")
        log.error("Encountered Exception %s", exc)

    def stopped(self, code: int) -> None:
        """One line when the server stopped."""
        log.info("Server stopped (exit code %d)", code)


def _starting_lines(environ: MutableMapping[str, str]) -> None:
    messages = []
    if c.MODEL_DIR.env not in environ:
        messages += [
            f"The environment variable '{c.MODEL_DIR.env}' has not been set.",
            "Use the --model_dir command line argument to set it.",
        ]
    messages += normalise_app_insights(environ)
    if environ[ENV_INSIGHTS_ENABLED] != "true":
        environ.pop(c.APP_INSIGHTS_CONNECTION_STRING_ENV, None)  # off means off, as the reference
    print("\n".join(messages + settings_lines(environ)), flush=True)


def run(args: argparse.Namespace, environ: MutableMapping[str, str], cwd: str) -> int:
    """Serve as the reference's ``azmlinfsrv`` would with ``args``; returns the exit code."""
    from pathlib import Path

    from aksml.errors import WebserviceException
    from aksml.runtime.script import install_contrib_aliases
    from aksml.runtime.settings import resolve_settings

    install_contrib_aliases()  # a logging.json may name the reference's log_config classes
    amllog.configure(environ.get(ENV_LOG_LEVEL, "INFO"))
    if not (args.entry_script or args.config_file):
        log.error("Error!")
        log.error(
            "Either provide an entry_script using --entry_script or provide a path to the "
            "configuration file using --config_file"
        )
        return EXIT_BAD_COMMAND_LINE
    merge_environment(args, environ, cwd)
    _starting_lines(environ)
    try:
        file_values = read_config_file(config_file_path(environ))
        amllog.configure_from(environ, _pick(environ, file_values, ENV_LOG_LEVEL))
        log.info("Starting up app insights client")
        settings = resolve_settings(settings_flags(environ, file_values), environ, cwd=Path(cwd))
    except (OSError, ValueError, TypeError, AttributeError, ImportError) as exc:
        log.critical("Invalid configuration: %s", exc)
        return c.EXIT_INIT_FAILED
    except WebserviceException as exc:
        log.critical("Invalid configuration: %s", exc.message)
        return c.EXIT_INIT_FAILED
    environ[amllog.LOG_STYLE_ENV] = amllog.AZMLINFSRV_STYLE
    amllog.install_print_hook()
    return serve(settings, [access_line], ReferenceAnnouncer())


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point ``azmlinfsrv``."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    args = parse_arguments(argv)
    if args is None:
        sys.exit(EXIT_BAD_COMMAND_LINE)
    sys.exit(run(args, os.environ, os.getcwd()))
