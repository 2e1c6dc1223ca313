"""Proxy mode (``--upstream``): front an HTTP model server in the same pod (azmlinfsrv, MLflow,
Triton, ...) with the same auth, admission, timeout and request-id semantics as in-process mode.

Score and swagger requests are forwarded over a keep-alive connection pool
(:mod:`aksml.runtime.upstream`). An upstream 500
becomes 502 (what azureml-fe did to a model container's 500); an unreachable upstream gives 502;
a call over the scoring timeout gives 504 and its upstream connection is dropped (the slot is
free at once). Readiness passes when the upstream answers ``GET /`` with a status below 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aksml.runtime.backends import GatedBackend, timeout_result
from aksml.runtime.gate import Gate
from aksml.runtime.messages import JSON_CT, ScoreRequest, ScoreResult, error_body
from aksml.runtime.settings import RuntimeSettings
from aksml.runtime.upstream import UpstreamClient, UpstreamError, UpstreamTimeout

log = logging.getLogger("aksml.runtime")

READY_PROBE_TIMEOUT_S = 2.0
"""Timeout of the readiness check against the upstream."""
_HOP_HEADERS = frozenset(
    {
        "authorization",
        "connection",
        "content-length",
        "expect",
        "host",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class ProxyBackend(GatedBackend):
    """Forwards admitted calls to the upstream model server."""

    wants_headers = True
    local_swagger = False
    local_readiness = False

    def __init__(self, settings: RuntimeSettings) -> None:
        """Create the connection pool (connections open on first use)."""
        super().__init__(settings)
        assert settings.upstream is not None
        count = settings.max_concurrent_requests
        self.gate: Gate[int] = Gate(range(count))
        self.description = f"proxy to {settings.upstream}, {count} concurrent"
        self._client = UpstreamClient(settings.upstream, max_idle=count + 4)
        self._score_path = settings.upstream_score_path
        self._swagger_path = settings.upstream_swagger_path

    async def start(self) -> None:
        """Wait until the upstream answers (readiness fails meanwhile)."""
        while not await self.ready():
            await asyncio.sleep(0.2)

    async def ready(self) -> bool:
        """True when the upstream answers ``GET /`` below 500."""
        try:
            response = await self._client.request("GET", "/", timeout_s=READY_PROBE_TIMEOUT_S)
        except (UpstreamError, UpstreamTimeout):
            return False
        return response.status < 500

    async def score(self, slot: Any, req: ScoreRequest) -> ScoreResult:
        """Forward one call; 504 at the scoring timeout, 502 when the upstream fails."""
        started = time.perf_counter()
        url = self._score_path + ("?" + req.query.decode("latin-1") if req.query else "")
        headers = [(k, v) for k, v in req.headers if k not in _HOP_HEADERS]
        try:
            response = await self._client.request(
                req.method, url, headers=headers, body=req.body, timeout_s=self.timeout_s
            )
        except UpstreamTimeout:
            elapsed = (time.perf_counter() - started) * 1000.0
            return timeout_result(self.settings.scoring_timeout_ms, elapsed)
        except UpstreamError as exc:
            elapsed = (time.perf_counter() - started) * 1000.0
            log.error("upstream request failed: %s", exc)
            return ScoreResult(
                502,
                error_body(f"The upstream model server could not be reached: {exc}"),
                True,
                elapsed,
                f"upstream error: {exc}",
            )
        finally:
            self.gate.release(slot)
        elapsed = (time.perf_counter() - started) * 1000.0
        status = response.status
        return ScoreResult(
            502 if status == 500 else status,
            response.body,
            status >= 500,
            elapsed,
            f"upstream status {status}" if status >= 400 else None,
            _content_type(response.headers),
        )

    async def swagger(self, version: str | None, query: bytes) -> tuple[int, bytes, bytes]:
        """Forward GET swagger.json (with its query) to the upstream."""
        url = self._swagger_path + ("?" + query.decode("latin-1") if query else "")
        try:
            response = await self._client.request("GET", url, timeout_s=self.timeout_s)
        except (UpstreamError, UpstreamTimeout) as exc:
            reason = str(exc) or "timeout"
            return (
                502,
                error_body(f"The upstream model server could not be reached: {reason}"),
                JSON_CT,
            )
        return response.status, response.body, _content_type(response.headers)

    async def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


def _content_type(headers: list[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name == b"content-type":
            return value
    return JSON_CT
