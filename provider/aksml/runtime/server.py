"""Run the scoring app on the runtime's HTTP protocol (httptools + uvloop): startup banner,
init(), readiness, SIGTERM drain, exit codes.

Lifecycle: bind and answer the kubelet's liveness probe at once (other clients once init()
returned: :meth:`ScoringApp.dispatch`); load score.py and run init() (readiness fails until
it returned; failure -> exit 3); serve. On SIGTERM or SIGINT: readiness fails at once, queued
requests get 503, new scoring requests get 503, in-flight calls finish (bounded by the scoring
timeout plus one second), then the listener closes and the process exits 0. A second SIGINT
exits at once.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import TypeVar

from aksml import contract as c
from aksml.runtime.app import AuthenticatorLike, ScoringApp
from aksml.runtime.backends import Backend, ThreadBackend
from aksml.runtime.datacollect import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_FLUSH_INTERVAL_S,
    DEFAULT_MAX_RECORD_BYTES,
)
from aksml.runtime.hooks import RequestObserver
from aksml.runtime.httpproto import HttpServer
from aksml.runtime.metrics import RuntimeMetrics
from aksml.runtime.observe import Observability, ObservabilityConfig
from aksml.runtime.script import ScriptLoadError
from aksml.runtime.settings import RuntimeSettings

log = logging.getLogger("aksml.runtime")
_T = TypeVar("_T")

DRAIN_MARGIN_S = 1.0
"""Extra time past the scoring timeout that draining waits for in-flight calls."""
SHUTDOWN_GRACE_S = 2.0
"""After draining, how long open connections get to receive their last response."""
RESPONSE_BACKSTOP_MARGIN_S = 60.0
"""A connection whose response is still owed this long past the admission wait plus the
scoring timeout is dropped (the application answers 503/504 well before; this catches bugs)."""


def make_backend(settings: RuntimeSettings) -> Backend:
    """The back end the settings ask for."""
    if settings.upstream:
        from aksml.runtime.proxy import ProxyBackend

        return ProxyBackend(settings)
    if settings.uses_processes:
        from aksml.runtime.workers import ProcessBackend

        return ProcessBackend(settings)
    return ThreadBackend(settings)


def make_authenticator(settings: RuntimeSettings) -> AuthenticatorLike | None:
    """The authenticator for the configured auth mode (None when auth is off)."""
    if settings.auth_mode == "none":
        return None
    from aksml.runtime.auth_mode import build_authenticator

    return build_authenticator(
        settings.auth_mode,
        primary_key=settings.primary_key,
        secondary_key=settings.secondary_key,
        keys_file=settings.keys_file,
        token_issuer=settings.token_issuer,
        token_audience=settings.token_audience,
    )


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _banner(
    settings: RuntimeSettings, backend: Backend, port: int, health_port: int | None = None
) -> list[str]:
    base = f"http://{_display_host(settings.host)}:{port}"
    target = settings.upstream or str(settings.entry_script)
    lines = [f"aksml serve: {target} ({backend.description})"]
    lines.append(f"  Liveness:  GET  {base}{c.LIVENESS_PATH}")
    if health_port is not None:
        health_base = f"http://{_display_host(settings.host)}:{health_port}"
        lines.append(f"  Health:    GET  {health_base}{c.LIVENESS_PATH}")
    lines.append(f"  Readiness: GET  {base}{c.READINESS_PATH}")
    lines.append(f"  Score:     POST {base}{c.SCORE_PATH}")
    prefix = settings.aml_prefix
    if prefix:
        lines.append(f"  Score:     POST {base}{prefix}{c.SCORE_PATH}")
    lines.append(f"  Swagger:   GET  {base}{c.SWAGGER_PATH}")
    if prefix:
        lines.append(f"  Swagger:   GET  {base}{prefix}{c.SWAGGER_PATH}")
    if settings.metrics_port:
        metrics_host = _display_host(settings.host)
        lines.append(f"  Metrics:   GET  http://{metrics_host}:{settings.metrics_port}/metrics")
    lines.append(
        f"  Admission: {settings.max_concurrent_requests} concurrent, queue wait "
        f"{settings.max_request_wait_ms} ms, scoring timeout {settings.scoring_timeout_ms} ms"
    )
    lines.append(f"  Auth: {_auth_line(settings)}")
    return lines


def _auth_line(settings: RuntimeSettings) -> str:
    if settings.auth_mode == "none":
        return "none"
    if settings.auth_mode == "token":
        return f"token (issuer {settings.token_issuer}, audience {settings.token_audience})"
    if settings.keys_file:
        return f"key (keys from {settings.keys_file})"
    if settings.show_keys:
        return f"key (primary {settings.primary_key}, secondary {settings.secondary_key})"
    if settings.keys_generated:
        path = _write_generated_keys(settings)
        return f"key (keys generated; read them from {path}, or restart with {c.SHOW_KEYS.flag})"
    return f"key (keys given; {c.SHOW_KEYS.flag} prints them)"


def _write_generated_keys(settings: RuntimeSettings) -> str:
    fd, path = tempfile.mkstemp(prefix="aksml-keys-", suffix=".json", dir=c.TMP_DIR)
    with os.fdopen(fd, "w") as handle:
        json.dump(
            {"primaryKey": settings.primary_key, "secondaryKey": settings.secondary_key}, handle
        )
    return path


class Announcer:
    """What the server says when it starts, is ready, fails and stops (``aksml serve``'s
    lines; the ``azmlinfsrv`` command says the reference server's instead)."""

    def listening(self, banner: list[str]) -> None:
        """The ports are bound (``banner``: the lines naming the URLs and settings)."""
        print("\n".join(banner), flush=True)

    def ready(self, settings: RuntimeSettings) -> None:
        """init() returned: the server is ready."""
        print("aksml serve: ready (init() returned)", flush=True)

    def load_failed(self, exc: BaseException) -> None:
        """score.py did not load or its init() raised (the process exits 3)."""
        log.error("scoring script failed to start: %s", exc)

    def stopped(self, code: int) -> None:
        """The server stopped with exit code ``code``."""
        print(f"aksml serve: stopped (exit {code})", flush=True)
        sys.stdout.flush()


def serve(
    settings: RuntimeSettings,
    observers: Sequence[RequestObserver] = (),
    announcer: Announcer | None = None,
) -> int:
    """Run the server until drained; returns the process exit code."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        runner = asyncio.Runner()
    with runner:
        return runner.run(_main(settings, observers, announcer or Announcer()))


def _or(value: _T | None, default: _T) -> _T:
    return default if value is None else value


def make_observability(settings: RuntimeSettings) -> Observability:
    """Data collection, Application Insights and the access log, as the settings ask."""
    config = ObservabilityConfig(
        service_name=settings.service_name,
        service_version=settings.service_version,
        model_dir=settings.model_dir,
        collect_model_data=settings.collect_model_data,
        data_collection_dir=settings.data_collection_dir,
        data_collection_blob_url=settings.data_collection_blob_url,
        data_collection_sample_rate=_or(settings.data_collection_sample_rate, 1.0),
        data_collection_max_record_bytes=_or(
            settings.data_collection_max_record_bytes, DEFAULT_MAX_RECORD_BYTES
        ),
        data_collection_buffer_bytes=_or(
            settings.data_collection_buffer_bytes, DEFAULT_BUFFER_BYTES
        ),
        data_collection_flush_ms=_or(
            settings.data_collection_flush_ms, int(DEFAULT_FLUSH_INTERVAL_S * 1000)
        ),
        access_log=settings.access_log,
        app_insights_sample_rate=_or(settings.app_insights_sample_rate, 1.0),
        upstream=(settings.upstream + settings.upstream_score_path) if settings.upstream else None,
    )
    return Observability.from_config(config, os.environ)


async def _main(
    settings: RuntimeSettings, observers: Sequence[RequestObserver], announcer: Announcer
) -> int:
    observability = make_observability(settings)
    backend = make_backend(settings)
    authenticator = make_authenticator(settings)
    app_ref: list[ScoringApp] = []
    # before init() returned, slots held by starting workers are not load: report 0 so an
    # autoscaler reading the in-flight metric does not see a starting pod as busy
    metrics = RuntimeMetrics(
        in_flight=lambda: float(backend.in_flight) if app_ref and app_ref[0].ready else 0.0,
        queue_depth=lambda: float(backend.queue_depth),
    )
    observability.register_metrics(metrics.registry)
    app = ScoringApp(
        settings,
        backend,
        authenticator=authenticator,
        metrics=metrics,
        observers=[*observers, *observability.observers],
    )
    app_ref.append(app)
    observability.start()
    try:
        return await _serve(settings, backend, authenticator, metrics, app, announcer)
    finally:
        # every response has been sent (drained): write what collection/telemetry still hold
        observability.close()


async def _serve(
    settings: RuntimeSettings,
    backend: Backend,
    authenticator: AuthenticatorLike | None,
    metrics: RuntimeMetrics,
    app: ScoringApp,
    announcer: Announcer,
) -> int:
    default_headers = _default_headers(settings)
    # a backstop behind the application's own deadlines (admission wait + scoring timeout)
    backstop_s = (
        settings.max_request_wait_ms + settings.scoring_timeout_ms
    ) / 1000.0 + RESPONSE_BACKSTOP_MARGIN_S
    server = HttpServer(app, default_headers, response_timeout_s=backstop_s)
    health = (
        HttpServer(app, default_headers, response_timeout_s=backstop_s)
        if settings.health_port
        else None
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    interrupts = 0

    def on_signal(sig: signal.Signals) -> None:
        nonlocal interrupts
        if sig == signal.SIGINT:
            interrupts += 1
            if interrupts > 1:
                log.warning("second interrupt: exiting without waiting")
                os._exit(c.EXIT_OK)
        if not stop.is_set():
            log.info("%s: draining", sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    fatal: list[str] = []

    def on_fatal(message: str) -> None:
        log.error("fatal: %s", message)
        fatal.append(message)
        stop.set()

    backend.on_fatal = on_fatal
    backend.on_worker_restart = metrics.worker_restarts.inc

    if authenticator is not None:
        await authenticator.start()
    if settings.metrics_port:
        try:
            bound_metrics: list[tuple[HttpServer, int]] = [
                (await metrics.serve(settings.host, settings.metrics_port), settings.metrics_port)
            ]
        except OSError as exc:
            log.error(
                "could not start the metrics server on %s:%d: %s",
                settings.host,
                settings.metrics_port,
                exc,
            )
            return c.EXIT_USAGE
    else:
        bound_metrics = []
    bound = [(server, settings.port)]
    if health is not None:
        bound.append((health, settings.health_port))
    ports = []
    for listener, wanted in bound:
        try:
            ports.append(await listener.start(settings.host, wanted))
        except OSError as exc:
            log.error("could not start the HTTP server on %s:%d: %s", settings.host, wanted, exc)
            return c.EXIT_USAGE
    announcer.listening(_banner(settings, backend, *ports))

    load_started = time.perf_counter()
    start_task = asyncio.create_task(backend.start())
    stop_task = asyncio.create_task(stop.wait())
    await asyncio.wait({start_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    code = c.EXIT_OK
    if start_task.done():
        try:
            start_task.result()
        except ScriptLoadError as exc:
            announcer.load_failed(exc)
            code = c.EXIT_INIT_FAILED
        except Exception:
            log.exception("the scoring back end failed to start")
            code = c.EXIT_INIT_FAILED
        else:
            metrics.model_load_seconds.set(time.perf_counter() - load_started)
            # everything loaded so far (score.py, its model, the libraries) lives as long as the
            # process: keep it out of the collector's full passes
            gc.freeze()
            if app.observers:
                _relax_gc()
            app.ready = True
            announcer.ready(settings)
            await stop.wait()
    stop_task.cancel()
    if fatal:
        code = c.EXIT_INIT_FAILED
    await _drain(app, backend, settings)
    for listener, _ in bound + bound_metrics:
        await listener.shutdown(SHUTDOWN_GRACE_S)
    if not start_task.done():
        start_task.cancel()
    await backend.close()
    if authenticator is not None:
        await authenticator.close()
    announcer.stopped(code)
    return code


GC_GEN0_THRESHOLD_OBSERVED = 50_000
"""Generation-0 threshold of the cyclic garbage collector while requests are observed."""


def _relax_gc() -> None:
    """With data collection, App Insights or the access log on, every request leaves objects
    alive until a background writer takes them (a net allocation per request), so the default
    generation-0 threshold (700) sets off collections every few hundred requests. Measured with
    a trivial run() and collection on (8 connections, user CPU per request): 60-67 µs at 700,
    52 µs at 50,000 -- the same as with collection off. Garbage with reference cycles from
    score.py waits a little longer to be freed (reference counting frees everything else at
    once)."""
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GC_GEN0_THRESHOLD_OBSERVED), gen1, gen2)


def _default_headers(settings: RuntimeSettings) -> list[tuple[bytes, bytes]]:
    if not settings.server_version_header:
        return []
    from aksml import __version__

    return [(b"x-ms-server-version", f"aksml/{__version__}".encode())]


async def _drain(app: ScoringApp, backend: Backend, settings: RuntimeSettings) -> None:
    app.draining = True
    backend.refuse_waiters()
    if app.active:
        log.info("draining: waiting for %d in-flight request(s)", app.active)
        try:
            await asyncio.wait_for(
                app.wait_idle(), settings.scoring_timeout_ms / 1000.0 + DRAIN_MARGIN_S
            )
        except TimeoutError:
            log.warning("draining: %d request(s) still running; stopping anyway", app.active)
    await _wait_streams(backend, settings.scoring_timeout_ms / 1000.0 + DRAIN_MARGIN_S)


async def _wait_streams(backend: Backend, timeout_s: float) -> None:
    """Let streamed responses still being produced finish (they end by the scoring timeout)."""
    deadline = time.monotonic() + timeout_s
    while getattr(backend, "streaming", 0) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
