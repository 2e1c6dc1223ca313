"""Process mode: one worker process per admission slot, each running init() once, so that
CPU-bound run() calls execute in parallel. The front process keeps auth, the global FIFO
admission and metrics; a slot *is* an idle worker.

Timeout: the front answers 504, kills the worker (SIGKILL) and starts a replacement; the slot
comes back when the replacement's init() has returned. A worker that dies inside run() gives
502 and is replaced the same way. A replacement whose init() fails is fatal (exit 3), as a
crash-looping pod would be.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import sys
import time
from typing import Any

from aksml import contract as c
from aksml.runtime.backends import GatedBackend, script_location, timeout_result
from aksml.runtime.gate import Gate
from aksml.runtime.messages import ScoreRequest, ScoreResult, error_body
from aksml.runtime.observe import service_identity
from aksml.runtime.script import ScriptInfo, ScriptLoadError
from aksml.runtime.settings import RuntimeSettings
from aksml.runtime.worker import FRAME, encode_frame

log = logging.getLogger("aksml.runtime")

WORKER_EXIT_GRACE_S = 2.0
"""How long close() waits for a worker to exit after its socket closed, before SIGKILL."""


class WorkerProcess:
    """One worker process and the front's end of its socket."""

    def __init__(
        self,
        index: int,
        process: asyncio.subprocess.Process,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        """Wrap a started worker."""
        self.index = index
        self.process = process
        self.reader = reader
        self.writer = writer

    async def receive(self) -> Any:
        """Read one frame (IncompleteReadError when the worker is gone)."""
        header = await self.reader.readexactly(FRAME.size)
        (size,) = FRAME.unpack(header)
        return _loads(await self.reader.readexactly(size))

    async def call(self, req: ScoreRequest) -> ScoreResult:
        """Send one request and wait for its result."""
        self.writer.write(encode_frame(req))
        result: ScoreResult = await self.receive()
        return result

    def kill(self) -> None:
        """SIGKILL the worker and drop the socket."""
        if self.process.returncode is None:
            self.process.kill()
        self.writer.close()


def _loads(payload: bytes) -> Any:
    import pickle

    return pickle.loads(payload)


def _worker_environment() -> dict[str, str]:
    """The server's environment minus the auth keys (score.py never needs them)."""
    secret = {c.PRIMARY_KEY.env, c.SECONDARY_KEY.env}
    return {k: v for k, v in os.environ.items() if k not in secret}


class ProcessBackend(GatedBackend):
    """``max_concurrent_requests`` worker processes behind the admission gate."""

    def __init__(self, settings: RuntimeSettings) -> None:
        """Nothing starts before :meth:`start`."""
        super().__init__(settings)
        self.count = settings.max_concurrent_requests
        self.gate: Gate[WorkerProcess] = Gate()
        self.gate.capacity = self.count
        self.description = f"{self.count} worker process{'es' if self.count > 1 else ''}"
        self._spec = json.dumps(
            {
                "entry_script": str(script_location(settings).entry_script),
                "app_root": str(settings.app_root),
                "source_dir": str(settings.source_dir) if settings.source_dir else None,
                "model_dir": settings.model_dir,
                "hide_authorization": settings.auth_mode != "none",
                # App Insights in the worker: score.py's logs and print() become traces
                "service": service_identity(
                    settings.service_name, settings.service_version, settings.model_dir
                ),
            }
        )
        self._workers: set[WorkerProcess] = set()
        self._replacing: set[asyncio.Task[None]] = set()
        self._closing = False

    async def _spawn(self, index: int) -> tuple[WorkerProcess, ScriptInfo]:
        parent, child = socket.socketpair()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "aksml.runtime.worker",
                str(child.fileno()),
                self._spec,
                pass_fds=(child.fileno(),),
                env={**_worker_environment(), "AKSML_WORKER_INDEX": str(index)},
            )
        finally:
            child.close()
        reader, writer = await asyncio.open_unix_connection(sock=parent)
        worker = WorkerProcess(index, process, reader, writer)
        self._workers.add(worker)
        try:
            kind, payload = await worker.receive()
        except (asyncio.IncompleteReadError, ConnectionError):
            worker.kill()
            self._workers.discard(worker)
            code = await process.wait()
            raise ScriptLoadError(f"worker {index} exited with code {code} during init()") from None
        if kind != "ready":
            worker.kill()
            self._workers.discard(worker)
            raise ScriptLoadError(str(payload))
        info: ScriptInfo = payload
        return worker, info

    async def start(self) -> None:
        """Start every worker (init() runs in each, in parallel)."""
        results = await asyncio.gather(
            *(self._spawn(i) for i in range(self.count)), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            for r in results:
                if not isinstance(r, BaseException):
                    r[0].kill()
            first = errors[0]
            raise first if isinstance(first, ScriptLoadError) else ScriptLoadError(repr(first))
        for worker, info in results:  # type: ignore[misc]
            self.gate.release(worker)
            self.use_script_info(info)

    async def score(self, slot: Any, req: ScoreRequest) -> ScoreResult:
        """Run the call on the worker ``slot``; kill and replace it on timeout or crash."""
        worker: WorkerProcess = slot
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(worker.call(req), self.timeout_s)
        except TimeoutError:
            elapsed = (time.perf_counter() - started) * 1000.0
            log.warning(
                "run() exceeded the scoring timeout (%d ms) in worker %d; killing and replacing it",
                self.settings.scoring_timeout_ms,
                worker.index,
            )
            self._replace(worker)
            return timeout_result(self.settings.scoring_timeout_ms, elapsed)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            elapsed = (time.perf_counter() - started) * 1000.0
            log.error("worker %d died during run(): %r; replacing it", worker.index, exc)
            self._replace(worker)
            return ScoreResult(
                502,
                error_body("The scoring worker process exited unexpectedly."),
                True,
                elapsed,
                "worker process died",
            )
        self.gate.release(worker)
        return result

    def _replace(self, worker: WorkerProcess) -> None:
        self.on_worker_restart()
        worker.kill()
        self._workers.discard(worker)
        task = asyncio.get_running_loop().create_task(self._respawn(worker))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _respawn(self, old: WorkerProcess) -> None:
        await old.process.wait()
        if self._closing:
            return
        try:
            worker, _ = await self._spawn(old.index)
        except ScriptLoadError as exc:
            self.on_fatal(f"replacement worker {old.index} failed to start: {exc}")
            return
        self.gate.release(worker)

    async def close(self) -> None:
        """Close every worker's socket (they exit at EOF); SIGKILL stragglers."""
        self._closing = True
        for task in list(self._replacing):
            task.cancel()
        for worker in self._workers:
            worker.writer.close()
        for worker in list(self._workers):
            try:
                await asyncio.wait_for(worker.process.wait(), WORKER_EXIT_GRACE_S)
            except TimeoutError:
                worker.kill()
                await worker.process.wait()
        self._workers.clear()
