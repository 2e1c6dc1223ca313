"""Load a user's score.py and call it with azureml-inference-server-http 1.5.1's input and
output semantics (``docs/runtime.md``, "Request semantics"; the reference server is
https://pypi.org/project/azureml-inference-server-http/1.5.1/).

* undecorated ``run(raw)``: POST gets the UTF-8 body as ``str``; GET gets the query parameters
  (values parsed as JSON where they are JSON, repeated keys as lists) as a JSON string;
* ``@input_schema``-decorated ``run``: a JSON object body (or the query parameters) supplies the
  parameters by name; inference-schema's own decorator converts them (numpy, pandas, ...);
* an optional ``request_headers`` parameter receives the request headers as a dict;
* ``@rawhttp`` ``run(request)`` gets an ``AMLRequest`` (a werkzeug Request, see
  :mod:`aksml.runtime.amlcompat`);
* the return value is ``json.dumps``-ed; ``None`` becomes ``{}``; a returned werkzeug/Flask
  ``Response`` (``AMLResponse``) is sent as it is.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl

from aksml import contract as c
from aksml.runtime import codec, fastdecode
from aksml.runtime.messages import (
    MSG_NOT_JSON,
    MSG_NOT_SERIALIZABLE,
    MSG_RUN_FAILED,
    ScoreRequest,
    ScoreResult,
    error_body,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

log = logging.getLogger("aksml.runtime")

ENTRY_MODULE_NAME = "entry_module"
"""Module name the entry script is imported under (as the reference server does)."""
REQUEST_HEADERS_PARAM = "request_headers"
"""Optional run() parameter that receives the request headers."""

_EMPTY_OBJECT = b"{}"


class ScriptInfo(NamedTuple):
    """What the front process needs to know about a loaded script (picklable)."""

    wants_headers: bool
    """run() takes request_headers or is @rawhttp (the server must pass the headers)."""
    decorated: bool
    """run() carries inference-schema decorators."""
    has_input_schema: bool
    """run() has @input_schema (parameters come from a JSON object)."""
    input_schema: dict[str, Any]
    """Swagger schema of the input (inference-schema)."""
    output_schema: dict[str, Any]
    """Swagger schema of the output (inference-schema)."""
    supported_swagger_versions: tuple[str, ...]
    """Swagger versions the decorators support."""


class ScriptLoadError(Exception):
    """score.py could not be loaded, has no usable run(), or init() raised (exit code 3)."""


@dataclass(frozen=True)
class ScriptLocation:
    """Where the script is and what the process environment tells it."""

    entry_script: Path
    """Absolute path of score.py."""
    app_root: Path
    """Application root (sys.path entry)."""
    source_dir: Path | None
    """Source directory added to sys.path."""
    model_dir: str
    """AZUREML_MODEL_DIR value."""

    def export_environment(self) -> None:
        """Set the AZUREML_* variables score.py reads and extend sys.path like the reference."""
        os.environ[c.ENTRY_SCRIPT.env] = str(self.entry_script)
        os.environ[c.APP_ROOT.env] = str(self.app_root)
        if self.model_dir:  # the reference leaves it unset when no model directory is given
            os.environ[c.MODEL_DIR.env] = self.model_dir
        if self.source_dir is not None:
            os.environ[c.SOURCE_DIRECTORY.env] = str(self.source_dir)
        for entry in (self.source_dir, self.entry_script.parent, self.app_root):
            if entry is not None and str(entry) not in sys.path:
                sys.path.insert(0, str(entry))


_COMPAT_MODULE = "aksml.runtime.amlcompat"
CONTRIB_ALIASES = {
    "azureml.contrib.services.aml_request": _COMPAT_MODULE,
    "azureml.contrib.services.aml_response": _COMPAT_MODULE,
    # the path azureml-inference-server-http documents today
    "azureml_inference_server_http.api.aml_request": _COMPAT_MODULE,
    "azureml_inference_server_http.api.aml_response": _COMPAT_MODULE,
    # named by the reference's logging.json (formatter and filter classes)
    "azureml_inference_server_http.log_config": "aksml.runtime.amllog",
}
"""Modules score.py (or a logging.json) imports from the reference server, served by aksml when
no real package provides them."""
_CONTRIB_PACKAGES = (
    "azureml",
    "azureml.contrib",
    "azureml.contrib.services",
    "azureml_inference_server_http",
    "azureml_inference_server_http.api",
)


class ContribFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last-resort import hook (the end of ``sys.meta_path``) resolving
    ``azureml.contrib.services.aml_request``/``aml_response`` to :mod:`aksml.runtime.amlcompat`
    (and their parent packages to empty ones) only when no installed package provides them:
    the reference server aliases them in ``sys.modules`` unconditionally; a real azureml-core or
    azureml-contrib-services install is never shadowed here."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        """A spec for the aliased names (the finders before this one found nothing)."""
        if fullname in CONTRIB_ALIASES:
            return importlib.machinery.ModuleSpec(fullname, self)
        if fullname in _CONTRIB_PACKAGES:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def __init__(self) -> None:
        """A finder with no aliased module loaded yet."""
        self._own_specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        """The aliased module itself (the same object, as the reference's alias); None (a new
        empty module) for a parent package."""
        target = CONTRIB_ALIASES.get(spec.name)
        if target is None:
            return None
        module = importlib.import_module(target)
        self._own_specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run; give an aliased module back its own spec (import replaced it)."""
        if module.__name__ in self._own_specs:
            module.__spec__ = self._own_specs[module.__name__]


def install_contrib_aliases() -> None:
    """Append :class:`ContribFinder` to ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, ContribFinder) for finder in sys.meta_path):
        sys.meta_path.append(ContribFinder())


def _reset_rawhttp() -> None:
    compat = sys.modules.get(_COMPAT_MODULE)
    if compat is not None:
        vars(compat)["_rawHttpRequested"] = False  # a script loaded earlier here set it


_RAWHTTP_MODULES = (
    _COMPAT_MODULE,
    "azureml.contrib.services.aml_request",
    "azureml_inference_server_http.api.aml_request",
)


def rawhttp_requested() -> bool:
    """True when a ``@rawhttp`` decorator ran: ours or a real azureml package's. Like the
    reference, the flag is module-wide, not attached to ``run``."""
    return any(
        bool(getattr(sys.modules.get(name), "_rawHttpRequested", False))
        for name in _RAWHTTP_MODULES
    )


def _import_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(ENTRY_MODULE_NAME, path)
    if spec is None or spec.loader is None:
        raise ScriptLoadError(f"cannot import entry script {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[ENTRY_MODULE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # the user's module body may raise anything
        log.error("importing %s failed", path, exc_info=True)  # the user's traceback
        raise ScriptLoadError(f"importing {path} failed: {exc!r}") from exc
    return module


def parse_query(query: bytes) -> dict[str, Any]:
    """Query parameters as the reference parses them: JSON values where possible, repeated
    keys collected into a list."""
    collected: dict[str, list[Any]] = {}
    for key, raw in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        try:
            value: Any = json.loads(raw)
        except (ValueError, RecursionError):  # too deeply nested: not JSON to us
            value = raw
        collected.setdefault(key, []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in collected.items()}


def _is_json(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def _title(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


def encode_output(value: Any) -> bytes | None:
    """JSON-encode a run() return value as the reference does; None if JSON cannot encode it."""
    if value is None:
        return _EMPTY_OBJECT
    try:
        return codec.dumps(value)
    except (TypeError, ValueError):
        return None


class LoadedScript:
    """An imported score.py whose init() has run; :meth:`handle` serves one request."""

    def __init__(
        self, location: ScriptLocation, *, hide_authorization: bool, streaming: bool = False
    ) -> None:
        """Import the script, validate run() and call init() (ScriptLoadError on failure).

        ``streaming``: a returned response with a generator body is handed back unread
        (:attr:`ScoreResult.stream`) instead of being read whole."""
        self.location = location
        self._hide_authorization = hide_authorization
        self._streaming = streaming
        location.export_environment()
        install_contrib_aliases()
        _reset_rawhttp()
        module = _import_script(location.entry_script)
        self.module = module
        driver = getattr(module, "driver_module", None)
        run = getattr(driver if driver is not None else module, "run", None)
        if not callable(run):
            raise ScriptLoadError(f"{location.entry_script} does not define a run() function")
        self.run: Callable[..., Any] = run
        self._inspect_run(run)
        init = getattr(module, "init", None)
        if callable(init):
            try:
                init()
            except BaseException as exc:  # the user's init may raise anything
                log.exception("init() raised")
                raise ScriptLoadError(f"init() raised {exc!r}") from exc

    def _inspect_run(self, run: Callable[..., Any]) -> None:
        from inference_schema import schema_util

        try:
            signature = inspect.signature(run)
        except (TypeError, ValueError) as exc:
            raise ScriptLoadError(f"cannot inspect run(): {exc}") from exc
        params = [p for p in signature.parameters.values() if p.name != REQUEST_HEADERS_PARAM]
        self.wants_headers = REQUEST_HEADERS_PARAM in signature.parameters
        bad = [
            p.name
            for p in signature.parameters.values()
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY)
        ]
        if bad or not params:
            raise ScriptLoadError(
                "run() must take at least one named parameter besides request_headers and no "
                "*args, **kwargs or positional-only parameters"
            )
        self.param_names = tuple(p.name for p in params)
        self.param_defaults = {
            p.name: p.default for p in params if p.default is not inspect.Parameter.empty
        }
        self.decorated = bool(schema_util.is_schema_decorated(run))
        self._fast_decode = fastdecode.plan(run) if self.decorated else None
        self.rawhttp = rawhttp_requested()
        if self.rawhttp and self.decorated:
            raise ScriptLoadError("run() cannot be decorated with both @rawhttp and @input_schema")
        self.input_schema: dict[str, Any] = dict(schema_util.get_input_schema(run))
        self.output_schema: dict[str, Any] = dict(schema_util.get_output_schema(run))
        # the reference passes parameters from a JSON object whenever run() carries any
        # inference-schema decorator (even @output_schema alone)
        self.has_input_schema = self.decorated
        self.supported_swagger_versions: tuple[str, ...] = (
            tuple(schema_util.get_supported_versions(run))
            if self.decorated
            else ("2.0", "3.0", "3.1")
        )

    @property
    def info(self) -> ScriptInfo:
        """The script's shape, for swagger and request routing."""
        return ScriptInfo(
            self.wants_headers or self.rawhttp,
            self.decorated,
            self.has_input_schema,
            self.input_schema,
            self.output_schema,
            self.supported_swagger_versions,
        )

    # --- request handling (runs in a worker thread or a worker process) ---

    def handle(self, req: ScoreRequest) -> ScoreResult:
        """Parse the request, call run() and encode its result; never raises."""
        if self.rawhttp:
            return self._handle_raw(req)
        kwargs: dict[str, Any] = {}
        if self.wants_headers:
            kwargs[REQUEST_HEADERS_PARAM] = {
                _title(name): value
                for name, value in req.headers
                if not (self._hide_authorization and name == "authorization")
            }
        if self.has_input_schema:
            failure = self._schema_arguments(req, kwargs)
            if failure is not None:
                return failure
            args: tuple[Any, ...] = ()
        elif req.method == "GET":
            args = (json.dumps(parse_query(req.query)),)
        else:
            try:
                args = (req.body.decode("utf-8"),)
            except UnicodeDecodeError as exc:
                return _client_error(400, f"Input cannot be decoded as UTF-8: {exc}")
        start = time.perf_counter()
        if self._fast_decode is not None and kwargs:
            self._fast_decode(kwargs)  # what the decorators would convert, converted faster
        try:
            value = self.run(*args, **kwargs)
        except BaseException as exc:  # SystemExit too: it would end the run() thread for good
            exec_ms = (time.perf_counter() - start) * 1000.0
            log.exception("run() raised")
            return ScoreResult(502, error_body(MSG_RUN_FAILED), True, exec_ms, repr(exc))
        exec_ms = (time.perf_counter() - start) * 1000.0
        return self._result(value, exec_ms)

    def _handle_raw(self, req: ScoreRequest) -> ScoreResult:
        from aksml.runtime.amlcompat import build_request

        request = build_request(req, hide_authorization=self._hide_authorization)
        kwargs: dict[str, Any] = {self.param_names[0]: request}
        if self.wants_headers:
            kwargs[REQUEST_HEADERS_PARAM] = dict(request.headers)
        start = time.perf_counter()
        try:
            value = self.run(**kwargs)
        except BaseException as exc:  # as in handle()
            exec_ms = (time.perf_counter() - start) * 1000.0
            log.exception("run() raised")
            return ScoreResult(502, error_body(MSG_RUN_FAILED), True, exec_ms, repr(exc))
        finally:
            request.close()
        return self._result(value, (time.perf_counter() - start) * 1000.0)

    def _result(self, value: Any, exec_ms: float) -> ScoreResult:
        responses = sys.modules.get("werkzeug.wrappers.response")  # no werkzeug: no Response
        if responses is not None and isinstance(value, responses.Response):
            from aksml.runtime.amlcompat import response_result

            return response_result(value, exec_ms, streaming=self._streaming)
        body = encode_output(value)
        if body is None:
            log.error("run() returned a value JSON cannot encode: %s", type(value).__name__)
            return ScoreResult(
                500,
                error_body(MSG_NOT_SERIALIZABLE),
                False,
                exec_ms,
                f"not JSON serializable: {type(value).__name__}",
            )
        return ScoreResult(200, body, False, exec_ms)

    def _schema_arguments(self, req: ScoreRequest, kwargs: dict[str, Any]) -> ScoreResult | None:
        if req.method == "GET":
            payload: Any = parse_query(req.query)
        else:
            if not _is_json(req.content_type):
                return _client_error(415, MSG_NOT_JSON)
            if not req.body.strip():
                return _client_error(400, "POST body is empty. Expecting a JSON dictionary.")
            try:
                payload = codec.loads(req.body)
            except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
                return _client_error(400, f"POST body could not be decoded as JSON: {exc}")
            if not isinstance(payload, dict):
                return _client_error(400, "POST body should be a JSON dictionary.")
        for name in self.param_names:
            if name in payload:
                kwargs[name] = payload[name]
            elif name in self.param_defaults:
                kwargs[name] = self.param_defaults[name]
            else:
                return _client_error(400, f"A value is not provided for the '{name}' parameter.")
        return None


def _client_error(status: int, message: str) -> ScoreResult:
    return ScoreResult(status, error_body(message), False, 0.0, message)
