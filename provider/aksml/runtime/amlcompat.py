"""``@rawhttp``, ``AMLRequest`` and ``AMLResponse`` as azureml-inference-server-http 1.5.1 has
them (``api/aml_request.py``, ``api/aml_response.py``), on werkzeug instead of Flask.

score.py imports them as ``azureml.contrib.services.aml_request`` / ``aml_response``; when no real
package provides those names, :mod:`aksml.runtime.script` resolves both to this module (a
last-resort import hook, so an installed azureml-contrib-services always wins).

* ``@rawhttp`` marks the script: ``run(request)`` then receives an :class:`AMLRequest` (a
  ``werkzeug.wrappers.Request`` built from the scoring call) instead of a decoded body. Like the
  reference, the decorator sets a module-wide flag and returns ``run`` unchanged.
* ``run()`` may return any werkzeug (or Flask) ``Response``, e.g. :class:`AMLResponse`: its status,
  body, content type and headers are sent as they are (:func:`response_result`).
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from werkzeug.wrappers import Request, Response

from aksml.runtime.messages import (
    MSG_NOT_SERIALIZABLE,
    MSG_RUN_FAILED,
    ScoreRequest,
    ScoreResult,
    error_body,
)

_rawHttpRequested = False  # the reference server's name: scripts may read it
"""Set by :func:`rawhttp` (module-wide, as in the reference server)."""

FAILED_HEADER = "x-ms-run-function-failed"
"""Header the response carries when run() failed (``True``/``False``)."""

_SERVER_HEADERS = frozenset(
    {
        "content-type",  # sent from ScoreResult.content_type
        "content-length",  # computed by the server
        FAILED_HEADER,  # sent from ScoreResult.run_failed
        "x-ms-run-fn-exec-ms",
        "x-request-id",  # the reference overwrites the request-id headers
        "x-ms-request-id",
        "x-ms-client-request-id",
        "connection",  # hop-by-hop: the server's business
        "keep-alive",
        "transfer-encoding",
        "upgrade",
    }
)

_F = TypeVar("_F", bound=Callable[..., Any])


def rawhttp(func: _F) -> _F:
    """Decorator for ``run()``: hand it the raw HTTP request (an :class:`AMLRequest`)."""
    global _rawHttpRequested
    _rawHttpRequested = True
    return func


class AMLRequest(Request):
    """The request ``run(request)`` of a ``@rawhttp`` script receives: a werkzeug ``Request``
    (the reference hands over Flask's request, a subclass with the same API)."""


class AMLResponse(Response):
    """A response ``run()`` returns as-is (the reference's signature and behaviour).

    ``message`` is the body (``str`` or ``bytes``; with ``json_str=True`` any value, JSON-encoded
    as ``application/json``; ``None`` sends ``{}``). Each ``response_headers`` value is split on
    commas into repeated headers. The default content type is ``text/html; charset=utf-8``, as
    Flask's.
    """

    default_mimetype = "text/html"
    """Flask's default content type."""
    autocorrect_location_header = False
    """Flask sends ``Location`` as given."""

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        """Build the response (``response_headers`` defaults to none)."""
        headers: Mapping[str, str] = {} if response_headers is None else response_headers
        if message is not None:
            if json_str:
                super().__init__(
                    json.dumps(message), status=status_code, mimetype="application/json"
                )
            else:
                super().__init__(message, status=status_code)
                if "Content-Type" in headers:
                    self.headers.remove("Content-Type")  # the loop below adds the caller's
        else:
            super().__init__(json.dumps({}), status=status_code, mimetype="application/json")
        self.headers[FAILED_HEADER] = str(run_function_failed)
        # repeated headers: the caller separates the values with commas (RFC 2616 section 4.2)
        for header, value in headers.items():
            for part in value.split(","):
                self.headers.add_header(header, part.strip())


def _environ_key(name: str) -> str:
    return "HTTP_" + name.upper().replace("-", "_")


def build_request(req: ScoreRequest, *, hide_authorization: bool) -> AMLRequest:
    """The WSGI view of one scoring call, as gunicorn builds it for the reference server.

    Repeated headers are joined with ``,``; header names with ``_`` are dropped (gunicorn's
    default); ``Authorization`` is left out when ``hide_authorization``.
    """
    body = req.body
    environ: dict[str, Any] = {
        "REQUEST_METHOD": req.method,
        "SCRIPT_NAME": "",
        # PATH_INFO carries the decoded path's bytes as latin-1 (PEP 3333)
        "PATH_INFO": req.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": req.query.decode("latin-1"),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if req.content_type:
        environ["CONTENT_TYPE"] = req.content_type
    host = ""
    for name, value in req.headers:
        lower = name.lower()
        if lower in ("content-type", "content-length") or "_" in lower:
            continue
        if lower == "authorization" and hide_authorization:
            continue
        if lower == "host":
            host = value
        key = _environ_key(lower)
        previous = environ.get(key)
        environ[key] = value if previous is None else f"{previous},{value}"
    environ["SERVER_NAME"], environ["SERVER_PORT"] = _server(host)
    return AMLRequest(environ)


def _server(host: str) -> tuple[str, str]:
    """SERVER_NAME and SERVER_PORT from a Host header (gunicorn's fallback for port 80)."""
    name, sep, port = host.rpartition(":")
    if not sep or not port.isdigit() or (":" in name and not name.endswith("]")):
        name, port = host, "80"
    return name or "localhost", port


def _latin1(text: str) -> bytes:
    return text.encode("latin-1")


def response_result(response: Response, exec_ms: float, *, streaming: bool = False) -> ScoreResult:
    """The ScoreResult for a Response run() returned: status, body, content type and headers as
    they are, except that a 500 becomes 502 (azureml-fe's rewrite of a model container's 500).
    Status >= 500 (or a ``x-ms-run-function-failed: True`` header) marks the call as failed.

    With ``streaming``, a body that is an iterable (a generator) is not read here: the result
    carries the response in ``stream`` for the caller to iterate (and close)."""
    streamed = streaming and response.is_streamed
    body = b""
    if not streamed:
        try:
            body = response.get_data()
        except BaseException as exc:  # a streamed body is the user's generator: it may raise
            return ScoreResult(502, error_body(MSG_RUN_FAILED), True, exec_ms, repr(exc))
        finally:
            response.close()
    status = response.status_code
    try:
        content_type = _latin1(response.headers.get("Content-Type", ""))
        headers = tuple(
            (_latin1(name), _latin1(value))
            for name, value in response.headers.items()
            if name.lower() not in _SERVER_HEADERS
        )
    except UnicodeEncodeError as exc:
        if streamed:
            response.close()
        return ScoreResult(
            500, error_body(MSG_NOT_SERIALIZABLE), False, exec_ms, f"response header: {exc}"
        )
    flagged = response.headers.get(FAILED_HEADER, "").strip().lower() == "true"
    return ScoreResult(
        502 if status == 500 else status,
        body,
        status >= 500 or flagged,
        exec_ms,
        f"run() returned status {status}" if status >= 400 else None,
        content_type,
        headers,
        response if streamed else None,
    )
