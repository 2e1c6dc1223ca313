"""Reliability-suite toolkit: ``aksml serve`` processes, an nginx load balancer that behaves
like a Kubernetes Service's endpoints (only ready, non-terminating backends), a steady async
load generator, and the run's scale (fast in the suite, long under ``bench/``).

Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from benchproc import (
    LOOPBACK,
    ManagedProcess,
    Nginx,
    aksml_serve_argv,
    free_port,
    group_rss_bytes,
    nginx_proxy_location,
    nginx_upstream_conf,
)

from aksml import contract as c

SCRIPTS = Path(__file__).resolve().parent / "scripts"
"""score.py fixtures of this suite."""

LONG_ENV = "AKSML_RELIABILITY_LONG"
"""Set to 1 (bench/reliability_long.py does) for the long versions of the tests."""
REPORT_ENV = "AKSML_RELIABILITY_REPORT"
"""A JSON-lines file each test appends its figures to (bench/reliability_long.py reads it)."""


def is_long() -> bool:
    """Whether this is a long (bench) run rather than the fast suite."""
    return os.environ.get(LONG_ENV, "") == "1"


def scaled(fast: float, long: float) -> float:
    """``fast`` in the suite, ``long`` in a bench run."""
    return long if is_long() else fast


def report(row: str, **figures: Any) -> None:
    """Record figures of one test (a row of docs/reliability.md) when a report file is set."""
    path = os.environ.get(REPORT_ENV)
    if path:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
        with open(path, "a") as out:
            out.write(json.dumps({"row": row, "test": test, **figures}) + "\n")


# --------------------------------------------------------------------------------------------
# runtime processes
# --------------------------------------------------------------------------------------------


@dataclass
class Runtime:
    """One ``aksml serve`` process on 127.0.0.1 with key auth."""

    name: str
    """Process label (log file name)."""
    port: int
    """Scoring port."""
    metrics_port: int
    """Prometheus port."""
    key: str
    """Primary key."""
    secondary_key: str
    """Secondary key."""
    argv: list[str]
    """Command line (reused by :meth:`restart`)."""
    env: dict[str, str]
    """Extra environment (keys, script settings)."""
    log_dir: Path
    """Where the process log goes."""
    proc: ManagedProcess = field(init=False)
    """The current process."""
    generation: int = 0
    """How many times it was (re)started."""

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def score_url(self) -> str:
        """Scoring URL."""
        return self.base + c.SCORE_PATH

    @property
    def ready_url(self) -> str:
        """Readiness URL."""
        return self.base + c.READINESS_PATH

    @property
    def live_url(self) -> str:
        """Liveness URL."""
        return self.base + c.LIVENESS_PATH

    @property
    def metrics_url(self) -> str:
        """Prometheus URL."""
        return f"http://{LOOPBACK}:{self.metrics_port}{c.METRICS_PATH}"

    def headers(self, key: str | None = None) -> dict[str, str]:
        """JSON content type and the bearer key."""
        return {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {key or self.key}",
        }

    def start(self, *, wait_ready: bool = True, timeout: float = 60.0) -> Runtime:
        """Start a new process (same port and settings) and wait for readiness."""
        self.generation += 1
        self.proc = ManagedProcess(
            f"{self.name}-{self.generation}", self.argv, self.log_dir, env=self.env
        ).start()
        if wait_ready:
            self.proc.wait_http(self.ready_url, timeout=timeout)
        return self

    def rss_bytes(self) -> int:
        """Resident memory of the runtime and its worker processes."""
        return group_rss_bytes(self.proc.pid)

    def logs(self) -> str:
        """Every log line of every generation of this runtime."""
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.log_dir.glob(f"{self.name}-*.log"))
        )


class RuntimeFactory:
    """Starts runtimes for one test and stops them (and checks their logs) afterwards."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        """Directory of the process logs."""
        self.runtimes: list[Runtime] = []
        """Runtimes started so far."""
        self.secrets: list[str] = []
        """Values that must never appear in any log (keys, tokens)."""

    def start(
        self,
        script: Path | None = None,
        *,
        settings: Mapping[c.RuntimeSetting, object] | None = None,
        env: Mapping[str, str] | None = None,
        wait_ready: bool = True,
        keys: tuple[str, str] | None = None,
    ) -> Runtime:
        """``aksml serve`` with key auth, the given script and settings. ``keys`` (primary,
        secondary) default to new random ones; replicas of one service share theirs."""
        port, metrics_port = free_port(), free_port()
        key, key2 = keys or (secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        self.secrets += [key, key2]
        all_settings: dict[c.RuntimeSetting, object] = {c.AUTH_MODE: "key", **(settings or {})}
        argv = aksml_serve_argv(
            port=port,
            metrics_port=metrics_port,
            entry_script=script if script is not None else SCRIPTS / "score_sleepy.py",
            extra=all_settings,
        )
        full_env = {c.PRIMARY_KEY.env: key, c.SECONDARY_KEY.env: key2, **(env or {})}
        runtime = Runtime(
            f"runtime{len(self.runtimes)}",
            port,
            metrics_port,
            key,
            key2,
            argv,
            full_env,
            self.log_dir,
        )
        self.runtimes.append(runtime)
        return runtime.start(wait_ready=wait_ready)

    def stop_all(self) -> None:
        """Stop every runtime."""
        for runtime in self.runtimes:
            if hasattr(runtime, "proc"):
                runtime.proc.stop()

    def leaked_secrets(self) -> list[str]:
        """Runtime names whose logs contain a key or token value."""
        leaks = []
        for runtime in self.runtimes:
            text = runtime.logs()
            if any(secret in text for secret in self.secrets):
                leaks.append(runtime.name)
        return leaks


# --------------------------------------------------------------------------------------------
# load balancer (a Kubernetes Service's endpoints, emulated with nginx reloads)
# --------------------------------------------------------------------------------------------


class LoadBalancer:
    """nginx in front of runtimes; :meth:`set_backends` is what the endpoints controller does
    when a pod turns ready or starts terminating (a graceful nginx reload: old workers finish
    their requests)."""

    GENERATION_PATH = "/-/lb-generation"

    def __init__(self, prefix: Path, ports: Iterable[int]) -> None:
        self.port = free_port()
        """Listening port on 127.0.0.1."""
        self.generation = 0
        """Configuration generation, served at GENERATION_PATH to confirm a reload."""
        self.nginx = Nginx(prefix, self.port, "", "")
        """The nginx process."""
        self._configure(list(ports))

    @property
    def score_url(self) -> str:
        """Scoring URL through the load balancer."""
        return f"http://{LOOPBACK}:{self.port}{c.SCORE_PATH}"

    def _configure(self, ports: list[int]) -> None:
        if not ports:
            raise ValueError("nginx needs at least one backend")
        self.generation += 1
        self.nginx.http_extra = nginx_upstream_conf("runtimes", ports)
        self.nginx.locations = (
            f'location = {self.GENERATION_PATH} {{ return 200 "{self.generation}"; }}\n        '
            + nginx_proxy_location("runtimes")
        )

    def start(self) -> LoadBalancer:
        """Start nginx."""
        self.nginx.start()
        return self

    def set_backends(self, ports: Iterable[int], timeout: float = 10.0) -> None:
        """Route new requests only to ``ports``; returns once nginx runs the new config."""
        self._configure(list(ports))
        self.nginx.write_conf()
        self.nginx.proc.send_signal(signal.SIGHUP)
        url = f"http://{LOOPBACK}:{self.port}{self.GENERATION_PATH}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got = httpx.get(url, timeout=2, headers={"Connection": "close"}).text
                if got == str(self.generation):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"nginx did not load configuration {self.generation}")

    def stop(self) -> None:
        """Stop nginx."""
        self.nginx.stop()


# --------------------------------------------------------------------------------------------
# steady load
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One client request."""

    started: float
    """monotonic() when sent."""
    seconds: float
    """Time to the full answer (or the error)."""
    status: int | None
    """HTTP status, None on a transport error."""
    error: str | None = None
    """Transport error class name."""


class SteadyLoad:
    """``concurrency`` async clients posting to ``url`` back to back (with ``pause`` between
    requests) from a background thread until stopped. No keep-alive by default: every request
    opens a connection, like many independent clients."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        body: Callable[[int], bytes],
        *,
        concurrency: int = 4,
        pause: float = 0.0,
        keepalive: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.url = url
        """Target URL."""
        self.headers = dict(headers)
        """Request headers."""
        self.body = body
        """Request number -> body bytes."""
        self.concurrency = concurrency
        """Parallel clients."""
        self.pause = pause
        """Sleep between a client's requests."""
        self.keepalive = keepalive
        """Reuse connections."""
        self.timeout = timeout
        """Per-request timeout."""
        self.outcomes: list[Outcome] = []
        """Every finished request."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._count = 0

    async def _client(self, client: httpx.AsyncClient) -> None:
        while not self._stop.is_set():
            self._count += 1
            n = self._count
            started = time.monotonic()
            try:
                resp = await client.post(self.url, content=self.body(n), headers=self.headers)
                self.outcomes.append(Outcome(started, time.monotonic() - started, resp.status_code))
            except httpx.HTTPError as exc:
                self.outcomes.append(
                    Outcome(started, time.monotonic() - started, None, type(exc).__name__)
                )
            if self.pause:
                await asyncio.sleep(self.pause)

    async def _main(self) -> None:
        limits = httpx.Limits(
            max_connections=self.concurrency,
            max_keepalive_connections=self.concurrency if self.keepalive else 0,
        )
        async with httpx.AsyncClient(limits=limits, timeout=self.timeout) as client:
            await asyncio.gather(*(self._client(client) for _ in range(self.concurrency)))

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop sending and wait for the requests in flight."""
        self._stop.set()
        self._thread.join(self.timeout + 10)

    def failures(self) -> list[Outcome]:
        """Requests that did not get a 200."""
        return [o for o in self.outcomes if o.status != 200]

    def since(self, t: float) -> list[Outcome]:
        """Requests sent at or after monotonic() time ``t``."""
        return [o for o in self.outcomes if o.started >= t]
