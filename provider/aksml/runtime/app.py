"""The raw ASGI application (no framework): routing, auth, request ids, body limits, admission,
and the response. Scoring itself is delegated to a :class:`~aksml.runtime.backends.Backend`.

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
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qs

from aksml import contract as c
from aksml.runtime.backends import Backend
from aksml.runtime.hooks import RequestObserver, RequestRecord
from aksml.runtime.messages import (
    JSON_CT,
    MSG_DRAINING,
    MSG_METHOD,
    MSG_NOT_FOUND,
    MSG_NOT_READY,
    ScoreRequest,
    error_body,
)
from aksml.runtime.metrics import RuntimeMetrics
from aksml.runtime.settings import RuntimeSettings

log = logging.getLogger("aksml.runtime")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

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
    """The authenticator interface of ``aksml.runtime.auth``."""

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
_CL = b"content-length"
_TEXT_CT = b"text/html; charset=utf-8"
_FAILED = {True: b"True", False: b"False"}


def _response_start(status: int, headers: list[tuple[bytes, bytes]]) -> Message:
    return {"type": "http.response.start", "status": status, "headers": headers}


class ScoringApp:
    """The scoring server's ASGI callable."""

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
        sync = getattr(authenticator, "check_sync", None)
        self._auth_sync: Callable[[str | None], AuthDecisionLike] | None = (
            sync if callable(sync) else None
        )
        """The authenticator's synchronous check, when it has one (saves a coroutine)."""
        self.metrics = metrics
        self.observers = list(observers)
        self.ready = False
        """Set once init() returned (readiness passes from then on until draining)."""
        self.draining = False
        """Set on SIGTERM: readiness fails, scoring answers 503."""
        self.active = 0
        """Scoring requests past authentication and not yet answered."""
        self._idle = asyncio.Event()
        self._idle.set()
        self._limit = settings.max_body_bytes
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

    async def wait_idle(self) -> None:
        """Return once no scoring request is being handled."""
        await self._idle.wait()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        kind = self._routes.get(scope["path"])
        method: str = scope["method"]
        if kind is None:
            await _json(send, 404, MSG_NOT_FOUND)
            return
        allowed, allow_header = _ALLOWED[kind]
        if method not in allowed:
            await _json(send, 405, MSG_METHOD, [(b"allow", allow_header)])
            return
        if kind == _SCORE:
            if method == "OPTIONS":
                await send(_response_start(200, [(_CL, b"0")]))
                await send({"type": "http.response.body", "body": b""})
                return
            await self._score(scope, receive, send, method)
        elif kind == _LIVE:
            await _text(send, 200, b"Healthy")
        elif kind == _READY:
            if self.ready and not self.draining and await self.backend.ready():
                await _text(send, 200, b"Ready")
            else:
                await _json(send, 503, MSG_DRAINING if self.draining else MSG_NOT_READY)
        else:
            await self._swagger(scope, send)

    async def _swagger(self, scope: Scope, send: Send) -> None:
        if not self.ready:
            await _json(send, 503, MSG_NOT_READY)
            return
        query: bytes = scope["query_string"]
        versions = parse_qs(query.decode("latin-1")).get("version") if query else None
        status, body, content_type = await self.backend.swagger(
            versions[0] if versions else None, query
        )
        await send(_response_start(status, [(_CT, content_type), (_CL, b"%d" % len(body))]))
        await send({"type": "http.response.body", "body": body})

    async def _score(self, scope: Scope, receive: Receive, send: Send, method: str) -> None:
        started = time.perf_counter()
        metrics = self.metrics
        request_id = ms_request_id = client_request_id = trace_id = None
        authorization = None
        content_type = b""
        content_length = -1
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-type":
                content_type = value
            elif name == b"content-length":
                content_length = int(value) if value.isdigit() else -1
            elif name == b"x-request-id":
                request_id = value
            elif name == b"x-ms-request-id":
                ms_request_id = value
            elif name == b"x-ms-client-request-id":
                client_request_id = value
            elif name == b"traceid":
                trace_id = value
        if request_id is None:
            request_id = str(uuid.uuid4()).encode()
        id_headers = [
            (b"x-request-id", request_id),
            (b"x-ms-request-id", ms_request_id or client_request_id or request_id),
        ]
        if client_request_id is not None:
            id_headers.append((b"x-ms-client-request-id", client_request_id))
        if trace_id is not None:
            id_headers.append((b"traceid", trace_id))

        if self.auth is not None:
            credential = authorization.decode("latin-1") if authorization is not None else None
            if self._auth_sync is not None:
                decision = self._auth_sync(credential)
            else:
                decision = await self.auth.check(credential)
            if not decision.ok:
                metrics.rejected["unauthorized"].inc()
                extra = id_headers
                if decision.www_authenticate:
                    extra = [*id_headers, (b"www-authenticate", decision.www_authenticate.encode())]
                await _json(send, decision.status, decision.message, extra)
                metrics.response(decision.status)
                return
        if len(request_id) > MAX_REQUEST_ID_CHARS:
            metrics.rejected["header_too_large"].inc()
            await _json(send, 431, "x-request-id must not exceed 100 characters")
            metrics.response(431)
            return
        if (ms_request_id is not None and len(ms_request_id) > MAX_REQUEST_ID_CHARS) or (
            client_request_id is not None and len(client_request_id) > MAX_REQUEST_ID_CHARS
        ):
            metrics.rejected["header_too_large"].inc()
            await _json(
                send,
                431,
                "x-ms-request-id and x-ms-client-request-id must not exceed 100 characters",
                id_headers[:1],
            )
            metrics.response(431)
            return
        if self.draining or not self.ready:
            reason = "draining" if self.draining else "not_ready"
            metrics.rejected[reason].inc()
            await _json(send, 503, MSG_DRAINING if self.draining else MSG_NOT_READY, id_headers)
            metrics.response(503)
            return
        limit = self._limit
        if content_length > limit:
            await self._too_large(send, id_headers)
            return
        try:
            body = await _read_body(receive, limit)
        except _Disconnected:
            return
        if body is None:
            await self._too_large(send, id_headers)
            return

        self.active += 1
        self._idle.clear()
        try:
            await self._admit_and_run(scope, send, method, body, content_type, id_headers, started)
        finally:
            self.active -= 1
            if not self.active:
                self._idle.set()

    async def _admit_and_run(
        self,
        scope: Scope,
        send: Send,
        method: str,
        body: bytes,
        content_type: bytes,
        id_headers: list[tuple[bytes, bytes]],
        started: float,
    ) -> None:
        metrics = self.metrics
        backend = self.backend
        gate = backend.gate
        queued = time.perf_counter()
        slot = gate.try_acquire()
        if slot is None:
            slot = await gate.acquire(self._wait_s)
            if slot is None:
                reason = "draining" if self.draining else "queue_timeout"
                metrics.rejected[reason].inc()
                message = (
                    MSG_DRAINING
                    if self.draining
                    else "Service unavailable: no scoring slot became free within "
                    f"max_request_wait_time ({self.settings.max_request_wait_ms} ms)."
                )
                await _json(send, 503, message, id_headers)
                metrics.response(503)
                self._observe(scope, id_headers, 503, body, b"", message, started, 0.0, 0.0)
                return
        admitted = time.perf_counter()
        metrics.admitted.inc()
        req = ScoreRequest(
            method,
            scope["query_string"],
            content_type.decode("latin-1"),
            tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
            if backend.wants_headers
            else (),
            body,
        )
        result = await backend.score(slot, req)
        out = result.body
        headers = [
            (_CT, result.content_type),
            (_CL, b"%d" % len(out)),
            (b"x-ms-run-function-failed", _FAILED[result.run_failed]),
            (b"x-ms-run-fn-exec-ms", b"%.3f" % result.exec_ms),
            *id_headers,
            *result.headers,
        ]
        await send(_response_start(result.status, headers))
        await send({"type": "http.response.body", "body": out})
        done = time.perf_counter()
        metrics.queue_wait.observe(admitted - queued)
        metrics.run_time.observe(result.exec_ms / 1000.0)
        metrics.total_time.observe(done - started)
        metrics.response(result.status)
        if result.status >= 500:
            log.warning(
                "request %s: %d %s",
                id_headers[0][1].decode("latin-1"),
                result.status,
                result.error,
            )
        if self.observers:
            self._observe(
                scope,
                id_headers,
                result.status,
                body,
                out,
                result.error,
                started,
                (admitted - started) * 1000.0,
                result.exec_ms,
            )

    def _observe(
        self,
        scope: Scope,
        id_headers: list[tuple[bytes, bytes]],
        status: int,
        body: bytes,
        out: bytes,
        error: str | None,
        started: float,
        queue_ms: float,
        run_ms: float,
    ) -> None:
        if not self.observers:
            return
        now = time.perf_counter()
        record = RequestRecord(
            request_id=id_headers[0][1].decode("latin-1"),
            method=scope["method"],
            path=scope["path"],
            status=status,
            input=body,
            query=scope["query_string"],
            output=out,
            error=error,
            started_at=time.time() - (now - started),
            queue_ms=queue_ms,
            run_ms=run_ms,
            total_ms=(now - started) * 1000.0,
        )
        for observer in self.observers:
            try:
                observer(record)
            except Exception:
                log.exception("request observer %r failed", observer)

    async def _too_large(self, send: Send, id_headers: list[tuple[bytes, bytes]]) -> None:
        self.metrics.rejected["body_too_large"].inc()
        await _json(
            send,
            413,
            f"Request body exceeds the limit of {self._limit} bytes.",
            [*id_headers, (b"connection", b"close")],
        )
        self.metrics.response(413)


class _Disconnected(Exception):
    """The client went away before its body was complete: nothing to answer."""


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` (_Disconnected if cut off)."""
    message = await receive()
    if message["type"] != "http.request":
        raise _Disconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= limit else None
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _json(
    send: Send, status: int, message: str, extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = error_body(message)
    await send(_response_start(status, [(_CT, JSON_CT), (_CL, b"%d" % len(body)), *extra]))
    await send({"type": "http.response.body", "body": body})


async def _text(send: Send, status: int, body: bytes) -> None:
    await send(_response_start(status, [(_CT, _TEXT_CT), (_CL, b"%d" % len(body))]))
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
