"""Log lines as azureml-inference-server-http 1.5.1 writes them (``log_config.py``,
``logging.json`` and ``print_log_hook.py`` of the reference package), for the ``azmlinfsrv``
command: log queries and alerts built on those lines keep working.

* records of the ``azmlinfsrv`` logger tree (and aksml's own) go to stdout as
  ``2026-01-01 12:00:00,123 I [4711] azmlinfsrv - message`` (UTC time);
* ``print()`` to stdout becomes a record of the ``azmlinfsrv.print`` logger;
* a ``logging.json`` in the app root (else beside the entry script) replaces the configuration,
  as in the reference (its ``azureml_inference_server_http.log_config`` classes resolve here).

This module is also what ``azureml_inference_server_http.log_config`` resolves to when the
reference package is not installed (see :data:`aksml.runtime.script.CONTRIB_ALIASES`).
"""

from __future__ import annotations

import builtins
import functools
import json
import logging
import logging.config
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Final

LOG_STYLE_ENV: Final = "AKSML_LOG_STYLE"
"""Set to :data:`AZMLINFSRV_STYLE` by the ``azmlinfsrv`` command; worker processes inherit it and
log the same way."""
AZMLINFSRV_STYLE: Final = "azmlinfsrv"
AML_FORMAT: Final = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"
"""The reference's log line format."""
SERVER_LOGGER: Final = "azmlinfsrv"
PRINT_LOGGER: Final = "azmlinfsrv.print"
USER_SCRIPT_LOGGER: Final = "azmlinfsrv.user_script"
LOGGING_JSON: Final = "logging.json"


class AMLLogFormatter(logging.Formatter):
    """The reference's formatter: :data:`AML_FORMAT`, times in UTC."""

    def __init__(self, fmt: str = AML_FORMAT, datefmt: str | None = None, style: str = "%") -> None:
        """A formatter with the reference's defaults."""
        super().__init__(fmt=fmt, datefmt=datefmt, style=style)  # type: ignore[arg-type]
        self.converter = time.gmtime


class RootAccessFilter(logging.Filter):
    """Drops access lines of liveness calls (``GET / HTTP/1.1``), as the reference's filter."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a liveness access line."""
        return "GET / HTTP/1.1" not in record.getMessage()


def _default_config(level: str) -> dict[str, Any]:
    handler = {
        "class": "logging.StreamHandler",
        "level": "DEBUG",
        "stream": "ext://sys.stdout",
        "formatter": "aml",
    }
    logger = {"level": level, "handlers": ["stdout"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"stdout": handler},
        "formatters": {"aml": {"()": AMLLogFormatter}},
        "loggers": {SERVER_LOGGER: logger, "aksml": dict(logger)},
        # other loggers: warnings and errors only, as an unconfigured root logger in the reference
        "root": {"level": "WARNING", "handlers": ["stdout"]},
    }


def configure(level: str = "INFO") -> None:
    """Log the ``azmlinfsrv`` and ``aksml`` logger trees to stdout in the reference's format."""
    try:
        logging.config.dictConfig(_default_config(level.upper()))
    except ValueError:  # an unknown AZUREML_LOG_LEVEL: the reference's default
        logging.config.dictConfig(_default_config("INFO"))


def load_logging_config(root_dir: str | None, silent: bool = False) -> bool:
    """Apply ``<root_dir>/logging.json`` if it exists (the reference's function); True if done."""
    if not root_dir or not os.path.isdir(root_dir):
        return False
    path = os.path.join(root_dir, LOGGING_JSON)
    if not os.path.isfile(path):
        return False
    with open(path, encoding="utf-8") as handle:
        logging.config.dictConfig(json.load(handle))
    if not silent:
        logging.getLogger(SERVER_LOGGER).info("Loaded logging config from %s", path)
    return True


_builtin_print = builtins.print
_print_logger = logging.getLogger(PRINT_LOGGER)


@functools.wraps(_builtin_print)
def print_to_logger(
    *objects: object,
    sep: str | None = " ",
    end: str | None = "\n",
    file: Any = None,
    flush: bool = False,
) -> None:
    """``print`` to stdout as an ``azmlinfsrv.print`` record; to any other file, as print."""
    target = file or sys.stdout
    if target is sys.stdout:
        _print_logger.info((" " if sep is None else sep).join(map(str, objects)))
    else:
        _builtin_print(*objects, sep=sep, end=end, file=file, flush=flush)


def install_print_hook() -> None:
    """Route ``print()`` to stdout through :data:`PRINT_LOGGER` (the reference does it before
    loading score.py)."""
    builtins.print = print_to_logger


def configure_from(environ: Mapping[str, str], level: str | None = None) -> None:
    """:func:`configure`, then a ``logging.json`` from the app root, else from the entry
    script's directory, as the reference loads it (raises what ``dictConfig`` raises for a bad
    file). aksml's own loggers stay enabled under a user's configuration: their errors (e.g.
    a traceback from run()) must not vanish."""
    configure(level or environ.get("AZUREML_LOG_LEVEL") or "INFO")
    entry = environ.get("AZUREML_ENTRY_SCRIPT")
    loaded = load_logging_config(environ.get("AML_APP_ROOT")) or (
        bool(entry) and load_logging_config(os.path.dirname(os.path.realpath(str(entry))))
    )
    if loaded:
        for name, logger in logging.Logger.manager.loggerDict.items():
            if name.startswith("aksml") and isinstance(logger, logging.Logger):
                logger.disabled = False


def apply_inherited_style() -> bool:
    """In a worker process: log as the parent does when it is the ``azmlinfsrv`` command."""
    if os.environ.get(LOG_STYLE_ENV) != AZMLINFSRV_STYLE:
        return False
    try:
        configure_from(os.environ)
    except (OSError, ValueError, TypeError, AttributeError, ImportError):
        configure()  # the front process reported the bad file already
    install_print_hook()
    return True
