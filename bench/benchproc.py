"""Process helpers shared by the benchmarks (``bench/``) and the reliability suite
(``tests/reliability/``): start servers as process groups on 127.0.0.1, wait for them, stop
them, measure their memory, and run a local nginx in front of them.

Everything binds and talks to 127.0.0.1 only. Each process is started in its own session, so
stopping it signals exactly the processes it started (its process group) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from aksml import contract as c

LOOPBACK = "127.0.0.1"
"""The only address benchmark and test traffic goes to."""

BENCH_DIR = Path(__file__).resolve().parent
"""This directory (bench/)."""
REPO_ROOT = BENCH_DIR.parent
"""The repository root."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def aksml_executable() -> str:
    """The ``aksml`` console script of the running interpreter's environment (or the one
    named by ``AKSML_SERVE_BIN``)."""
    override = os.environ.get("AKSML_SERVE_BIN")
    if override:
        return override
    candidate = Path(sys.executable).parent / "aksml"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("aksml")
    if found is None:
        raise RuntimeError("the aksml console script is not installed (run `uv sync`)")
    return found


def aksml_serve_argv(
    *,
    port: int,
    metrics_port: int = 0,
    entry_script: Path | None = None,
    extra: Mapping[c.RuntimeSetting, object] | None = None,
) -> list[str]:
    """``aksml serve`` argv bound to 127.0.0.1, built from the contract's flag names.

    ``extra`` maps further settings to values; a value of ``True`` means a bare flag.
    """
    argv = [aksml_executable(), "serve", c.HOST.flag, LOOPBACK, c.PORT.flag, str(port)]
    argv += [c.METRICS_PORT.flag, str(metrics_port)]
    if entry_script is not None:
        argv += [c.ENTRY_SCRIPT.flag, str(entry_script)]
    for setting, value in (extra or {}).items():
        argv += [setting.flag] if value is True else [setting.flag, str(value)]
    return argv


class ProcessFailed(RuntimeError):
    """A managed process exited or never became ready; the message holds its log tail."""


class ManagedProcess:
    """One command started in its own process group, its output captured in a log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        """Label used in log file names and error messages."""
        self.argv = list(argv)
        """The command line."""
        self.log_path = log_dir / f"{name}.log"
        """Combined stdout/stderr of the process."""
        self.env = {**os.environ, **(env or {})}
        """Full environment of the process."""
        self.cwd = cwd
        """Working directory (None: inherit)."""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """Process id (also the process group id)."""
        if self._proc is None:
            raise ProcessFailed(f"{self.name} was not started")
        return self._proc.pid

    def start(self) -> ManagedProcess:
        """Start the process (appending to its log file)."""
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        return self

    def returncode(self) -> int | None:
        """Exit status, or None while running."""
        return None if self._proc is None else self._proc.poll()

    def log_text(self) -> str:
        """Everything the process wrote so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _failed(self, why: str) -> ProcessFailed:
        tail = "\n".join(self.log_text().splitlines()[-40:])
        return ProcessFailed(f"{self.name}: {why}\n--- log tail ---\n{tail}")

    def wait_http(self, url: str, *, timeout: float = 60.0, status: int = 200) -> None:
        """Poll ``url`` until it answers ``status``; fail early if the process exits."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                code = self.returncode()
                if code is not None:
                    raise self._failed(f"exited with {code} before {url} answered")
                try:
                    got = client.get(url).status_code
                    if got == status:
                        return
                    last = f"status {got}"
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                time.sleep(0.05)
        raise self._failed(f"{url} did not answer {status} within {timeout:.0f} s ({last})")

    def send_signal(self, sig: signal.Signals) -> None:
        """Signal the main process only."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait for the main process to exit; returns its exit status."""
        if self._proc is None:
            raise ProcessFailed(f"{self.name} was not started")
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise self._failed(f"still running after {timeout:.0f} s") from None

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``timeout``; returns the exit status."""
        if self._proc is None:
            return None
        pgid = self._proc.pid
        if self._proc.poll() is None:
            _signal_group(pgid, signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(pgid, signal.SIGKILL)
                self._proc.wait(5)
        # leftover children of the group (e.g. gunicorn workers) go too
        _signal_group(pgid, signal.SIGKILL)
        return self._proc.returncode


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def group_rss_bytes(pgid: int) -> int:
    """Resident memory of every live process in process group ``pgid`` (from /proc)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # fields after the ")" closing the command name: state ppid pgrp ...
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
            continue
    return total


class Nginx:
    """A local nginx (the Debian package) started from a generated config on 127.0.0.1.

    ``locations`` is raw nginx text for the ``server`` block, e.g. ``proxy_pass`` locations or
    a ``return 200`` stub. All paths (pid, logs, temp dirs) live under ``prefix``, so no root
    privileges are needed.
    """

    def __init__(self, prefix: Path, port: int, http_extra: str, locations: str) -> None:
        self.prefix = prefix
        """Directory holding the config, logs and temp files."""
        self.port = port
        """Listening port on 127.0.0.1."""
        self.http_extra = http_extra
        """Extra text for the ``http`` block (e.g. an ``upstream``)."""
        self.locations = locations
        """Text of the ``server`` block after ``listen``."""
        self.conf_path = prefix / "nginx.conf"
        """Generated configuration file."""
        self.proc = ManagedProcess(
            "nginx",
            [_nginx_binary(), "-c", str(self.conf_path), "-p", str(prefix), "-e", "stderr"],
            prefix,
        )
        """The nginx master process."""

    def write_conf(self) -> None:
        """(Re)generate the configuration file."""
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        user = ""
        if os.geteuid() == 0:
            # a root master would switch workers to 'nobody', who cannot use our temp dirs
            user = "user root;\n"
        self.conf_path.write_text(
            f"""{user}worker_processes 1;
daemon off;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {self.prefix}/client_body;
    proxy_temp_path {self.prefix}/proxy;
    fastcgi_temp_path {self.prefix}/fastcgi;
    uwsgi_temp_path {self.prefix}/uwsgi;
    scgi_temp_path {self.prefix}/scgi;
    keepalive_requests 1000000;
    {self.http_extra}
    server {{
        listen {LOOPBACK}:{self.port};
        {self.locations}
    }}
}}
"""
        )

    def start(self, timeout: float = 15.0) -> Nginx:
        """Write the config, start nginx and wait until it accepts connections."""
        self.write_conf()
        self.proc.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode() is not None:
                raise self.proc._failed("nginx exited at startup")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise self.proc._failed("nginx did not listen in time")

    def stop(self) -> None:
        """Stop nginx (SIGQUIT would wait for keep-alive clients; SIGTERM is immediate)."""
        self.proc.stop(10)


def _nginx_binary() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("nginx is not installed (apt-get install nginx; .ci/run does it)")


def nginx_upstream_conf(name: str, ports: Sequence[int]) -> str:
    """An ``upstream`` block over 127.0.0.1 ports with passive health checks."""
    servers = "\n".join(
        f"        server {LOOPBACK}:{p} max_fails=1 fail_timeout=2s;" for p in ports
    )
    return f"upstream {name} {{\n{servers}\n        keepalive 32;\n    }}"


def nginx_proxy_location(upstream: str) -> str:
    """A catch-all location proxying to ``upstream`` and retrying a refused/reset request on
    the next server: on connection errors always (nothing was sent to ``run()``), and on 502,
    503 and 504 answers only for idempotent methods (nginx never re-sends a POST that reached a
    server, unless told ``non_idempotent``: we do not, a score call may not be idempotent).
    """
    return f"""location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_next_upstream error timeout http_502 http_503 http_504;
            proxy_next_upstream_tries 3;
            proxy_next_upstream_timeout 10s;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            client_max_body_size 0;
        }}"""
