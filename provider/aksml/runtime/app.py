"""The scoring application (no framework): routing, auth, request ids, body limits, admission,
and the response. It answers :class:`~aksml.runtime.httpproto.HttpRequest` objects from the
runtime's HTTP protocol, synchronously where it can (liveness, errors, key-auth checks) and
with a future otherwise. Scoring itself is delegated to a
:class:`~aksml.runtime.backends.Backend`, which also decides admission.

Status codes a client can see on the scoring path (every error body is ``{"message": ...}``):
200 ok; 400 malformed input; 401/403 auth; 404 unknown path; 405 wrong method; 413 body over
the limit; 415 non-JSON body for a schema-decorated script; 431 a request-id header over 100
characters; 500 run() returned something JSON cannot encode; 502 run() raised (or the worker
died / the upstream failed); 503 no slot within max_request_wait_time, not ready, or draining;
504 run() over scoring_timeout_ms.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Protocol
from urllib.parse import parse_qs

from aksml import contract as c
from aksml.runtime.backends import Backend
from aksml.runtime.hooks import RequestObserver, RequestRecord
from aksml.runtime.httpproto import Headers, HttpRequest, Response
from aksml.runtime.messages import (
    JSON_CT,
    MSG_DRAINING,
    MSG_METHOD,
    MSG_NOT_FOUND,
    MSG_NOT_READY,
    ScoreRequest,
    ScoreResult,
    error_body,
)
from aksml.runtime.metrics import RuntimeMetrics
from aksml.runtime.settings import RuntimeSettings

log = logging.getLogger("aksml.runtime")

MAX_REQUEST_ID_CHARS = 100
"""Longest accepted request-id header (431 above), as the reference server."""


class AuthDecisionLike(Protocol):
    """What an authenticator answers (``aksml.runtime.auth.AuthDecision``)."""

    @property
    def ok(self) -> bool:
        """True when the request may proceed."""

    @property
    def status(self) -> int:
        """HTTP status to send when not ok (401/403)."""

    @property
    def www_authenticate(self) -> str | None:
        """WWW-Authenticate header value when not ok."""

    @property
    def message(self) -> str:
        """Error message when not ok (never contains a key or a token)."""


class AuthenticatorLike(Protocol):
    """The authenticator interface of ``aksml.runtime.auth`` (an authenticator may also have
    ``check_sync(str | None)`` and ``check_header(bytes | None)``: synchronous checks of the
    header value as text or as raw bytes, used when present)."""

    async def check(self, authorization: str | None) -> AuthDecisionLike:
        """Decide on one request's Authorization header."""

    async def start(self) -> None:
        """Start background work (key-file watching, JWKS fetch)."""

    async def close(self) -> None:
        """Stop background work."""


_SCORE, _SWAGGER, _LIVE, _READY = range(4)
_ALLOWED = {
    _SCORE: (("GET", "POST", "OPTIONS"), b"GET, POST, OPTIONS"),
    _SWAGGER: (("GET", "HEAD"), b"GET, HEAD"),
    _LIVE: (("GET", "HEAD"), b"GET, HEAD"),
    _READY: (("GET", "HEAD"), b"GET, HEAD"),
}
_CT = b"content-type"
_TEXT_CT = b"text/html; charset=utf-8"
_FAILED = {True: b"True", False: b"False"}
_TEXT_HEADERS: Headers = [(_CT, _TEXT_CT)]
_JSON_HEADERS: Headers = [(_CT, JSON_CT)]


class ScoringApp:
    """The scoring server's application (see :class:`~aksml.runtime.httpproto.HttpApp`)."""

    def __init__(
        self,
        settings: RuntimeSettings,
        backend: Backend,
        *,
        authenticator: AuthenticatorLike | None,
        metrics: RuntimeMetrics,
        observers: Sequence[RequestObserver] = (),
    ) -> None:
        """Wire the parts; the app answers 503 on scoring paths until :attr:`ready`."""
        self.settings = settings
        self.backend = backend
        self.auth = authenticator
        sync = getattr(authenticator, "check_header", None)
        if not callable(sync):
            text_check = getattr(authenticator, "check_sync", None)
            sync = _on_text(text_check) if callable(text_check) else None
        self._auth_sync: Callable[[bytes | None], AuthDecisionLike] | None = sync
        """The authenticator's synchronous check of the raw header, when it has one (saves a
        coroutine)."""
        self._request_ids = RequestIds()
        self.metrics = metrics
        self.observers = list(observers)
        self.ready = False
        """Set once init() returned (readiness passes from then on until draining)."""
        self.draining = False
        """Set on SIGTERM: readiness fails, scoring answers 503."""
        self.active = 0
        """Scoring requests past authentication and not yet answered."""
        self._idle: asyncio.Future[None] | None = None
        self._limit = settings.max_body_bytes
        self.max_body_bytes = settings.max_body_bytes
        """Largest accepted body (the HTTP protocol discards bodies above it)."""
        self._wait_s = settings.max_request_wait_ms / 1000.0
        routes = {
            c.SCORE_PATH: _SCORE,
            c.SWAGGER_PATH: _SWAGGER,
            c.LIVENESS_PATH: _LIVE,
            c.READINESS_PATH: _READY,
        }
        if settings.aml_prefix:
            routes[settings.aml_prefix + c.SCORE_PATH] = _SCORE
            routes[settings.aml_prefix + c.SWAGGER_PATH] = _SWAGGER
        self._routes = routes
        self._cors = Cors(settings.cors_origins) if settings.cors_origins else None

    async def wait_idle(self) -> None:
        """Return once no scoring request is being handled."""
        if self.active:
            loop = asyncio.get_running_loop()
            self._idle = loop.create_future()
            await self._idle

    def dispatch(self, request: HttpRequest) -> Response | asyncio.Future[Response]:
        """Answer one request (now, or with a future)."""
        answer = self._dispatch(request)
        cors = self._cors
        if cors is None:
            return answer
        extra = cors.headers(request)
        if not extra:
            return answer
        if isinstance(answer, asyncio.Future):
            return _with_headers(answer, extra)
        status, headers, body = answer
        return status, [*headers, *extra], body

    def _dispatch(self, request: HttpRequest) -> Response | asyncio.Future[Response]:
        kind = self._routes.get(request.path)
        method = request.method
        if kind is None:
            return _json(404, MSG_NOT_FOUND)
        allowed, allow_header = _ALLOWED[kind]
        if method not in allowed:
            return _json(405, MSG_METHOD, [(b"allow", allow_header)])
        if kind == _SCORE:
            if method == "OPTIONS":
                return 200, [], b""
            return self._score(request)
        if kind == _LIVE:
            if self.ready or _kubelet(request):
                return 200, _TEXT_HEADERS, b"Healthy"
            return _json(503, MSG_NOT_READY)
        if kind == _READY:
            if not self.ready or self.draining:
                return _json(503, MSG_DRAINING if self.draining else MSG_NOT_READY)
            if self.backend.local_readiness:
                return 200, _TEXT_HEADERS, b"Ready"
            return asyncio.ensure_future(self._readiness())
        return self._swagger(request)

    async def _readiness(self) -> Response:
        if await self.backend.ready() and self.ready and not self.draining:
            return 200, _TEXT_HEADERS, b"Ready"
        return _json(503, MSG_DRAINING if self.draining else MSG_NOT_READY)

    def _swagger(self, request: HttpRequest) -> Response | asyncio.Future[Response]:
        if not self.ready:
            return _json(503, MSG_NOT_READY)
        query = request.query
        versions = parse_qs(query.decode("latin-1")).get("version") if query else None
        version = versions[0] if versions else None
        if self.backend.local_swagger:
            status, body, content_type = self.backend.swagger_local(version)
            return status, [(_CT, content_type)], body
        return asyncio.ensure_future(self._swagger_remote(version, query))

    async def _swagger_remote(self, version: str | None, query: bytes) -> Response:
        status, body, content_type = await self.backend.swagger(version, query)
        return status, [(_CT, content_type)], body

    def _score(self, request: HttpRequest) -> Response | asyncio.Future[Response]:
        started = time.perf_counter()
        headers = dict(request.headers)  # the last value of a repeated header wins
        get = headers.get
        request_id = get(b"x-request-id")
        ms_request_id = get(b"x-ms-request-id")
        client_request_id = get(b"x-ms-client-request-id")
        trace_id = get(b"traceid")
        if request_id is None:
            request_id = self._request_ids.next()
        id_headers = [
            (b"x-request-id", request_id),
            (b"x-ms-request-id", ms_request_id or client_request_id or request_id),
        ]
        if client_request_id is not None:
            id_headers.append((b"x-ms-client-request-id", client_request_id))
        if trace_id is not None:
            id_headers.append((b"traceid", trace_id))
        call = _Call(request, get(b"content-type", b""), id_headers, started)
        if self.auth is not None:
            authorization = get(b"authorization")
            if self._auth_sync is None:
                credential = authorization.decode("latin-1") if authorization is not None else None
                return asyncio.ensure_future(self._score_async_auth(call, credential))
            decision = self._auth_sync(authorization)
            if not decision.ok:
                return self._denied(decision, id_headers)
        return self._admit(call)

    async def _score_async_auth(self, call: _Call, credential: str | None) -> Response:
        assert self.auth is not None
        decision = await self.auth.check(credential)
        if not decision.ok:
            return self._denied(decision, call.id_headers)
        answer = self._admit(call)
        if isinstance(answer, asyncio.Future):
            return await answer
        return answer

    def _denied(self, decision: AuthDecisionLike, id_headers: Headers) -> Response:
        self.metrics.rejected["unauthorized"].inc()
        self.metrics.response(decision.status)
        extra = id_headers
        if decision.www_authenticate:
            extra = [*id_headers, (b"www-authenticate", decision.www_authenticate.encode())]
        return _json(decision.status, decision.message, extra)

    def _admit(self, call: _Call) -> Response | asyncio.Future[Response]:
        """Request-id limits, readiness, the body limit; then hand the call to the back end."""
        metrics = self.metrics
        id_headers = call.id_headers
        request_id = id_headers[0][1]
        if len(request_id) > MAX_REQUEST_ID_CHARS:
            metrics.rejected["header_too_large"].inc()
            metrics.response(431)
            return _json(431, "x-request-id must not exceed 100 characters")
        if len(id_headers[1][1]) > MAX_REQUEST_ID_CHARS or (
            len(id_headers) > 2
            and id_headers[2][0] == b"x-ms-client-request-id"
            and len(id_headers[2][1]) > MAX_REQUEST_ID_CHARS
        ):
            metrics.rejected["header_too_large"].inc()
            metrics.response(431)
            return _json(
                431,
                "x-ms-request-id and x-ms-client-request-id must not exceed 100 characters",
                id_headers[:1],
            )
        if self.draining or not self.ready:
            reason = "draining" if self.draining else "not_ready"
            metrics.rejected[reason].inc()
            metrics.response(503)
            return _json(503, MSG_DRAINING if self.draining else MSG_NOT_READY, id_headers)
        request = call.request
        if request.too_large:
            metrics.rejected["body_too_large"].inc()
            metrics.response(413)
            return _json(413, f"Request body exceeds the limit of {self._limit} bytes.", id_headers)
        backend = self.backend
        score_request = ScoreRequest(
            request.method,
            request.query,
            call.content_type.decode("latin-1"),
            tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers)
            if backend.wants_headers
            else (),
            request.body,
            request.path,
        )
        self.active += 1
        return backend.submit(score_request, self._wait_s, call.bind(self._finish))

    def _finish(self, call: _Call, result: ScoreResult | None, waited_s: float) -> Response:
        """Turn the back end's outcome into the response (on the loop, once per call)."""
        self.active -= 1
        if not self.active and self._idle is not None and not self._idle.done():
            self._idle.set_result(None)
        metrics = self.metrics
        id_headers = call.id_headers
        if result is None:
            reason = "draining" if self.draining else "queue_timeout"
            metrics.rejected[reason].inc()
            message = (
                MSG_DRAINING
                if self.draining
                else "Service unavailable: no scoring slot became free within "
                f"max_request_wait_time ({self.settings.max_request_wait_ms} ms)."
            )
            metrics.response(503)
            self._observe(call, 503, b"", message, 0.0, 0.0)
            return _json(503, message, id_headers)
        metrics.admitted.inc()
        out = result.body
        headers = [
            (b"x-ms-run-function-failed", _FAILED[result.run_failed]),
            (b"x-ms-run-fn-exec-ms", b"%.3f" % result.exec_ms),
            *id_headers,
            *result.headers,
        ]
        if result.content_type:  # a script's response may deliberately have none
            headers.insert(0, (_CT, result.content_type))
        done = time.perf_counter()
        metrics.queue_wait.observe(waited_s)
        metrics.run_time.observe(result.exec_ms / 1000.0)
        metrics.total_time.observe(done - call.started)
        metrics.response(result.status)
        if result.status >= 500:
            log.warning(
                "request %s: %d %s",
                id_headers[0][1].decode("latin-1"),
                result.status,
                result.error,
            )
        if self.observers:
            self._observe(call, result.status, out, result.error, waited_s * 1000.0, result.exec_ms)
        return result.status, headers, out

    def _observe(
        self,
        call: _Call,
        status: int,
        out: bytes,
        error: str | None,
        queue_ms: float,
        run_ms: float,
    ) -> None:
        if not self.observers:
            return
        now = time.perf_counter()
        request = call.request
        streamed = type(out) is not bytes  # a StreamBody: its chunks are not kept
        record = RequestRecord(
            call.id_headers[0][1].decode("latin-1"),
            request.method,
            request.path,
            status,
            request.body,
            request.query,
            b"" if streamed else out,
            error,
            time.time() - (now - call.started),
            queue_ms,
            run_ms,
            (now - call.started) * 1000.0,
            streamed,
        )
        for observer in self.observers:
            try:
                observer(record)
            except Exception:
                log.exception("request observer %r failed", observer)


def _on_text(
    check: Callable[[str | None], AuthDecisionLike],
) -> Callable[[bytes | None], AuthDecisionLike]:
    def on_bytes(raw: bytes | None) -> AuthDecisionLike:
        return check(raw.decode("latin-1") if raw is not None else None)

    return on_bytes


_VARIANT = {f"{d:x}": "89ab"[d & 3] for d in range(16)}
_ID_POOL_BYTES = 4096


class RequestIds:
    """Random (version 4) UUIDs as ``x-request-id`` values, like ``str(uuid.uuid4())``, with
    one ``os.urandom`` call per 256 ids (uuid4() costs a system call and a UUID object per
    id). Used on the event loop only; a forked child never reuses its parent's pool."""

    def __init__(self) -> None:
        """An empty pool (filled on first use)."""
        self._pool = b""
        self._pos = 0
        self._pid = os.getpid()

    def next(self) -> bytes:
        """The next id, e.g. ``b"0f9c1b1e-52c4-4c55-9a3e-2b1d3f4a5b6c"``."""
        pos = self._pos
        if pos >= len(self._pool) or os.getpid() != self._pid:
            self._pid = os.getpid()
            self._pool = os.urandom(_ID_POOL_BYTES)
            pos = 0
        self._pos = pos + 16
        h = self._pool[pos : pos + 16].hex()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}".encode()


class _Call:
    """What the response of one admitted scoring request needs."""

    __slots__ = ("content_type", "id_headers", "request", "started")

    def __init__(
        self, request: HttpRequest, content_type: bytes, id_headers: Headers, started: float
    ) -> None:
        self.request = request
        self.content_type = content_type
        self.id_headers = id_headers
        self.started = started

    def bind(
        self, finish: Callable[[_Call, ScoreResult | None, float], Response]
    ) -> Callable[[ScoreResult | None, float], Response]:
        """``finish`` with this call bound as its first argument."""
        return partial(finish, self)


class Cors:
    """CORS headers as azureml-inference-server-http sends them through flask-cors
    (``CORS(methods=["GET", "POST"], origins=[...])``), plus the request-id headers exposed to
    the browser."""

    METHODS = (b"GET", b"POST")
    EXPOSE = b"x-request-id, x-ms-request-id, x-ms-client-request-id, x-ms-run-fn-exec-ms"

    def __init__(self, origins: str) -> None:
        """``origins``: comma-separated origins, ``*`` for any."""
        listed = {o.strip().encode("latin-1") for o in origins.split(",") if o.strip()}
        self.any = b"*" in listed
        self.origins = frozenset(listed)

    def headers(self, request: HttpRequest) -> Headers:
        """The CORS headers for this request (none when it has no allowed Origin)."""
        origin = requested_method = requested_headers = None
        for name, value in request.headers:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                requested_method = value
            elif name == b"access-control-request-headers":
                requested_headers = value
        if origin is None:
            return []
        if self.any:
            out: Headers = [(b"access-control-allow-origin", b"*")]
        elif origin in self.origins:
            out = [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
        else:
            return []
        if request.method == "OPTIONS" and requested_method is not None:
            if requested_method.upper() in self.METHODS:
                out.append((b"access-control-allow-methods", b"GET, POST"))
                if requested_headers:
                    out.append((b"access-control-allow-headers", requested_headers))
        else:
            out.append((b"access-control-expose-headers", self.EXPOSE))
        return out


KUBELET_USER_AGENT = b"kube-probe/"
"""How the kubelet's HTTP probes introduce themselves (``User-Agent: kube-probe/<version>``)."""


def _kubelet(request: HttpRequest) -> bool:
    """Whether the kubelet sent this request (its liveness probe: the process is alive)."""
    for name, value in request.headers:
        if name == b"user-agent":
            return value.startswith(KUBELET_USER_AGENT)
    return False


def _with_headers(answer: asyncio.Future[Response], extra: Headers) -> asyncio.Future[Response]:
    out: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

    def copy(done: asyncio.Future[Response]) -> None:
        if done.cancelled():
            out.cancel()
        elif (exc := done.exception()) is not None:
            out.set_exception(exc)
        else:
            status, headers, body = done.result()
            out.set_result((status, [*headers, *extra], body))

    answer.add_done_callback(copy)
    return out


def _json(status: int, message: str, extra: Sequence[tuple[bytes, bytes]] = ()) -> Response:
    return status, [*_JSON_HEADERS, *extra], error_body(message)
