"""What the sync and async clients share: retry policy, request encoding, response decoding,
error construction. No I/O here (the two clients own their loops)."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from aksml import __version__
from aksml.errors import WebserviceException

RETRY_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses retried by default (v1's ``ClientBase`` list without the non-standard 530)."""

RETRY_EXCEPTIONS: tuple[type[Exception], ...] = (httpx.TransportError,)
"""Connection errors, timeouts and protocol errors: retried like v1's connection errors."""

DEFAULT_TIMEOUT = 90.0
"""Seconds per attempt: above AKS's default 60 s scoring timeout, so the service's 504 wins."""

BAD_RESPONSE_PREFIX = (
    "Received bad response from service. More information can be found in the service's logs "
    "(kubectl logs -l app.kubernetes.io/name=<service>)."
)
"""v1's message starts 'Received bad response from service.'; aksml points at the pod logs."""

NO_SCORING_URI = (
    "Error attempting to call webservice, scoring_uri unavailable. This could be due to a "
    "failed deployment, or the service is not ready yet.\nCurrent State: {state}\nErrors: {error}"
)
"""v1's message, verbatim."""

REQUEST_ID_HEADERS = ("x-request-id", "x-ms-request-id", "x-ms-client-request-id")


@dataclass(frozen=True)
class RetryPolicy:
    """How ``run()`` retries: exponential backoff with jitter, honouring ``Retry-After``."""

    retries: int = 3
    """Retries after the first attempt (v1: ``AZUREML_DEFAULT_RETRIES`` = 3); 0 disables."""
    backoff: float = 0.5
    """Base delay in seconds: retry k (0-based) waits about ``backoff * 2**k``."""
    max_backoff: float = 30.0
    """Upper bound for a computed backoff delay."""
    max_retry_after: float = 120.0
    """Upper bound for a server-given ``Retry-After``."""
    jitter: float = 0.5
    """Fraction of the delay randomised: the wait is uniform in [(1 - jitter)·d, d]."""
    statuses: frozenset[int] = field(default=RETRY_STATUSES)
    """Response statuses that are retried."""

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise WebserviceException("Invalid configuration, retries must not be negative.")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise WebserviceException("Invalid configuration, retry delays must not be negative.")
        if not 0 <= self.jitter <= 1:
            raise WebserviceException("Invalid configuration, jitter must be between 0 and 1.")

    def delay(
        self,
        retry_index: int,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait before retry ``retry_index`` (0-based). A ``Retry-After`` from the
        server wins over the computed backoff (capped at ``max_retry_after``)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        base = min(self.backoff * (2.0**retry_index), self.max_backoff)
        return base * (1.0 - self.jitter * rand())


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent/invalid."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - (now or dt.datetime.now(dt.UTC))).total_seconds(), 0.0)


def _json_default(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_body(input_data: Any) -> bytes:
    """The request body: str (UTF-8) and bytes are sent as given; anything else -- dicts and
    lists above all -- is JSON-encoded (v1 form-encoded dicts, sending ``a=1`` under a JSON
    content type). numpy values are converted with ``tolist()``."""
    if isinstance(input_data, str):
        return input_data.encode("utf-8")
    if isinstance(input_data, bytes | bytearray | memoryview):
        return bytes(input_data)
    try:
        return json.dumps(input_data, default=_json_default).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise WebserviceException(f"Error, input_data cannot be JSON-encoded: {exc}") from exc


def request_headers(
    authorization: str | None, request_id: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """Headers for one scoring call (v1: Content-Type and Accept application/json, Bearer)."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": f"aksml/{__version__}",
        "x-ms-client-request-id": request_id,
        **extra,
    }
    if authorization is not None:
        headers["Authorization"] = f"Bearer {authorization}"
    return headers


def new_request_id() -> str:
    """A client request id (kept across the retries of one call)."""
    return str(uuid.uuid4())


def response_request_id(response: httpx.Response, fallback: str | None) -> str | None:
    """The service's request id (``x-request-id`` / ``x-ms-request-id``), else ours."""
    for header in REQUEST_ID_HEADERS:
        value = response.headers.get(header)
        if value:
            return str(value)
    return fallback


def decode_response(response: httpx.Response) -> Any:
    """A 2xx body: decoded JSON; a non-JSON body is returned as text, an empty one as None."""
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                return str(value["message"])
    text = response.text.strip()
    return text[:500] if text else response.reason_phrase


class ServiceResponseError(WebserviceException):
    """A non-2xx response after retries: a ``WebserviceException`` carrying the status, the
    request id, the server's message and the raw response."""

    def __init__(self, response: httpx.Response, request_id: str | None, attempts: int) -> None:
        self.server_message = _server_message(response)
        """The service's error message (the JSON ``message`` field when there is one)."""
        self.headers: dict[str, str] = dict(response.headers)
        """Response headers."""
        self.content = response.content
        """Raw response body."""
        self.attempts = attempts
        """Attempts made, including the first."""
        request_id = response_request_id(response, request_id)
        message = (
            f"{BAD_RESPONSE_PREFIX}\n"
            f"Response Code: {response.status_code}\n"
            f"Request Id: {request_id}\n"
            f"Message: {self.server_message}\n"
            f"Headers: {self.headers}\n"
            f"Content: {self.content!r}"
        )
        super().__init__(message, status_code=response.status_code, request_id=request_id)

    def summary(self) -> str:
        """One line for terminals and logs."""
        return (
            f"service returned {self.status_code} (request id {self.request_id}) "
            f"after {self.attempts} attempt(s): {self.server_message}"
        )


class ServiceConnectionError(WebserviceException):
    """The service could not be reached (connection error or timeout) after retries."""

    def __init__(self, scoring_uri: str, error: Exception, request_id: str, attempts: int) -> None:
        self.attempts = attempts
        """Attempts made, including the first."""
        detail = str(error) or type(error).__name__
        super().__init__(
            f"Error attempting to call webservice at {scoring_uri}: {type(error).__name__}: "
            f"{detail} (after {attempts} attempt(s))",
            request_id=request_id,
        )


def no_scoring_uri(state: str | None, error: str | None) -> WebserviceException:
    """v1's error for a service without a scoring URI."""
    return WebserviceException(NO_SCORING_URI.format(state=state or "Unknown", error=error))


def swagger_uri_for(scoring_uri: str | None) -> str | None:
    """v1's derivation: replace the last path segment of the scoring URI by swagger.json."""
    if not scoring_uri:
        return None
    return "/".join(scoring_uri.split("/")[:-1]) + "/swagger.json"
