"""Process mode: one worker process per admission slot, each running init() once, so that
CPU-bound run() calls execute in parallel. The front process keeps auth, the FIFO admission
queue and metrics; a slot *is* an idle worker.

Hand-off without a task per call, and one call ahead: each worker's socket is read by a
protocol on the event loop. While calls queue, each busy worker is also handed the oldest
queued call *in advance* (at most one), so it starts that call the moment it sends its result,
without waiting for the front process to be scheduled: on two cores shared by two workers, the
front and the load generator, that wait was 0.4-0.5 ms per call (docs/benchmarks.md,
"Reading"). A call handed in advance still obeys ``max_request_wait_time``: the worker skips it
if it would start after its deadline (the front answers 503), and the front answers 503 at the
deadline if the worker has not reached it by then.

Timeout: the front answers 504, kills the worker (SIGKILL) and starts a replacement; the slot
comes back when the replacement's init() has returned. A worker that dies inside run() gives
502 and is replaced the same way (an idle one that dies is replaced too). A replacement whose
init() fails is fatal (exit 3), as a crash-looping pod would be.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from aksml import contract as c
from aksml.runtime.backends import Backend, script_location, settle, timeout_result
from aksml.runtime.messages import ScoreRequest, ScoreResult, error_body
from aksml.runtime.observe import service_identity
from aksml.runtime.script import ScriptInfo, ScriptLoadError
from aksml.runtime.settings import RuntimeSettings
from aksml.runtime.worker import FRAME, encode_call

log = logging.getLogger("aksml.runtime")
_R = TypeVar("_R")

WORKER_EXIT_GRACE_S = 2.0
"""How long close() waits for a worker to exit after its socket closed, before SIGKILL."""

MSG_WORKER_DIED = "The scoring worker process exited unexpectedly."
"""502 text when a worker process dies inside run()."""


class _Call:
    """One submitted call: queued, then running on a worker, then settled."""

    __slots__ = ("deadline", "finish", "future", "queued", "req", "started", "timer")

    def __init__(
        self,
        req: ScoreRequest,
        future: asyncio.Future[Any],
        finish: Callable[[ScoreResult | None, float], Any],
        queued: float,
    ) -> None:
        self.req = req
        self.future = future
        self.finish = finish
        self.queued = queued
        """perf_counter() when submitted."""
        self.deadline = 0.0
        """time.monotonic() after which the call must not start (0: no bound, it starts now);
        monotonic, not perf_counter: the worker process compares it with its own clock."""
        self.started = 0.0
        """perf_counter() when written to a worker (0: not yet)."""
        self.timer: asyncio.TimerHandle | None = None
        """The queue deadline while queued, the scoring timeout while running."""

    def settle(self, result: ScoreResult | None, waited_s: float) -> None:
        """Stop its timer and answer the call once (later answers are ignored)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        settle(self, result, waited_s)


class _Worker(asyncio.Protocol):
    """One worker process and the front's end of its socket (frames: see ``worker.py``)."""

    def __init__(self, backend: ProcessBackend, index: int) -> None:
        self.backend = backend
        self.index = index
        self.process: asyncio.subprocess.Process | None = None
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.hello: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        """The first frame: ("ready", ScriptInfo) or ("failed", message)."""
        self.calls: deque[_Call] = deque()
        """Calls written to the worker: the one run() is working on, then at most one handed
        in advance."""
        self.gone = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while len(buffer) >= FRAME.size:
            (size,) = FRAME.unpack_from(buffer)
            end = FRAME.size + size
            if len(buffer) < end:
                return
            message = pickle.loads(buffer[FRAME.size : end])  # (a slice is already a copy)
            del buffer[:end]
            if not self.hello.done():
                self.hello.set_result(message)
            else:
                self.backend.on_result(self, message)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.hello.done():
            self.hello.set_exception(ConnectionError("worker exited"))
        self.backend.on_lost(self)

    def send(self, call: _Call) -> None:
        """Write one call to the worker (it runs its calls in the order written)."""
        assert self.transport is not None
        self.calls.append(call)
        self.transport.writelines(encode_call(call.deadline, call.req))

    def kill(self, *, keep_socket: bool = False) -> None:
        """SIGKILL the worker; drop the socket unless ``keep_socket`` (then what it sent before
        dying is still read, up to the end: see ``ProcessBackend.on_lost``)."""
        self.gone = True
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        if self.transport is not None and not keep_socket:
            self.transport.close()


def _worker_environment() -> dict[str, str]:
    """The server's environment minus the auth keys (score.py never needs them)."""
    secret = {c.PRIMARY_KEY.env, c.SECONDARY_KEY.env}
    return {k: v for k, v in os.environ.items() if k not in secret}


class ProcessBackend(Backend):
    """``max_concurrent_requests`` worker processes behind one FIFO admission queue."""

    def __init__(self, settings: RuntimeSettings) -> None:
        """Nothing starts before :meth:`start`."""
        super().__init__(settings)
        self.count = settings.max_concurrent_requests
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
        self._workers: set[_Worker] = set()
        self._idle: deque[_Worker] = deque()
        self._queued: deque[_Call] = deque()
        """Calls waiting for a worker, oldest first (settled ones are dropped lazily)."""
        self._replacing: set[asyncio.Task[None]] = set()
        self._closing = False
        self._started = False
        self._ahead = settings.worker_prefetch
        """Calls a busy worker may hold in advance (0 or 1)."""

    # --- admission ---------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Slots not idle: workers running a call, and workers being replaced after a
        timeout."""
        return self.count - len(self._idle) if self._started else 0

    @property
    def queue_depth(self) -> int:
        """Calls waiting to start: queued here or handed to a busy worker in advance."""
        ahead = sum(len(w.calls) > 1 and not w.calls[-1].future.done() for w in self._workers)
        return ahead + sum(not call.future.done() for call in self._queued)

    def submit(
        self, req: ScoreRequest, wait_s: float, finish: Callable[[ScoreResult | None, float], _R]
    ) -> asyncio.Future[_R]:
        """Start the call on an idle worker, or let it wait at most ``wait_s`` seconds: handed
        in advance to a busy worker when one has room, else queued here."""
        loop = asyncio.get_running_loop()
        call = _Call(req, loop.create_future(), finish, time.perf_counter())
        queued = self._live_queue()
        if self._idle and not queued:
            self._start(self._idle.popleft(), call)
        elif wait_s <= 0:
            call.settle(None, 0.0)
        else:
            call.deadline = time.monotonic() + wait_s
            call.timer = loop.call_later(wait_s, self._expire, call)
            worker = None if queued or not self._ahead else self._room_ahead()
            if worker is not None:
                worker.send(call)
            else:
                self._queued.append(call)
        return call.future

    def _live_queue(self) -> bool:
        queued = self._queued
        while queued and queued[0].future.done():
            queued.popleft()
        return bool(queued)

    def _room_ahead(self) -> _Worker | None:
        """The busy worker whose call started first, among those with no call ahead."""
        best: _Worker | None = None
        for worker in self._workers:
            calls = worker.calls
            if (
                len(calls) == 1
                and not worker.gone
                and (best is None or calls[0].started < best.calls[0].started)
            ):
                best = worker
        return best

    def _expire(self, call: _Call) -> None:
        """A waiting call's deadline passed: refuse it. A queued one leaves the queue lazily;
        one handed ahead is skipped by its worker (it checks the same deadline)."""
        call.timer = None
        call.settle(None, time.perf_counter() - call.queued)

    def _start(self, worker: _Worker, call: _Call) -> None:
        """Write a call that starts now (the worker is idle)."""
        self._running(call)
        worker.send(call)

    def _running(self, call: _Call) -> None:
        """The call starts now: its queue deadline no longer applies, the scoring timeout
        does."""
        call.started = time.perf_counter()
        if call.timer is not None:
            call.timer.cancel()
        call.timer = asyncio.get_running_loop().call_later(self.timeout_s, self._timed_out, call)

    def _fill(self, worker: _Worker) -> None:
        """Give a worker with room the oldest live queued calls (one to run, one ahead)."""
        queued = self._queued
        while len(worker.calls) < 1 + self._ahead:
            while queued and queued[0].future.done():
                queued.popleft()
            if not queued:
                break
            call = queued.popleft()
            if worker.calls:
                worker.send(call)
            else:
                self._start(worker, call)
        if not worker.calls:
            self._idle.append(worker)

    def refuse_waiters(self) -> None:
        """Refuse every queued call at once (draining). Calls already handed to a worker run
        (or are skipped at their deadline): the drain waits for them."""
        now = time.perf_counter()
        while self._queued:
            call = self._queued.popleft()
            call.settle(None, now - call.queued)

    # --- results and failures ----------------------------------------------------------------

    def on_result(self, worker: _Worker, result: ScoreResult | None) -> None:
        """A worker answered its call (None: it skipped a call past its deadline) and has
        already started the call ahead, if any: hand it the next one, then settle."""
        call = worker.calls.popleft()
        if worker.calls:
            self._running(worker.calls[0])
        if not worker.gone and not self._closing:
            self._fill(worker)
        if result is None:
            call.settle(None, time.perf_counter() - call.queued)
        else:
            call.settle(result, call.started - call.queued)

    def _timed_out(self, call: _Call) -> None:
        """504 now; the worker is killed, and its socket read to the end before what it held
        is decided (see :meth:`on_lost`)."""
        call.timer = None
        worker = next((w for w in self._workers if w.calls and w.calls[0] is call), None)
        if worker is None or worker.gone:
            return
        elapsed = (time.perf_counter() - call.started) * 1000.0
        log.warning(
            "run() exceeded the scoring timeout (%d ms) in worker %d; killing and replacing it",
            self.settings.scoring_timeout_ms,
            worker.index,
        )
        call.settle(
            timeout_result(self.settings.scoring_timeout_ms, elapsed), call.started - call.queued
        )
        self._retire(worker)

    def on_lost(self, worker: _Worker) -> None:
        """A worker's socket reached its end: it died, or :meth:`_retire` killed it. Every
        result it sent before has been read, so its first unanswered call is the one it was
        running (502 unless already answered 504) and any call after that never started: it
        goes back to the head of the queue."""
        if self._closing or worker not in self._workers:
            return
        self._workers.discard(worker)
        if worker.calls:
            call = worker.calls.popleft()
            if not worker.gone:
                log.error("worker %d died during run(); replacing it", worker.index)
            elapsed = (time.perf_counter() - call.started) * 1000.0
            died = ScoreResult(502, error_body(MSG_WORKER_DIED), True, elapsed, "worker died")
            call.settle(died, call.started - call.queued)
        elif not worker.gone:
            log.error("worker %d exited while idle; replacing it", worker.index)
        while worker.calls:
            self._queued.appendleft(worker.calls.pop())
        while self._idle and self._live_queue():
            self._start(self._idle.popleft(), self._queued.popleft())
        if not worker.gone:
            self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker (SIGKILL; its socket stays open until the end is read) and start its
        replacement."""
        self.on_worker_restart()
        worker.kill(keep_socket=True)
        if worker in self._idle:
            self._idle.remove(worker)
        task = asyncio.get_running_loop().create_task(self._respawn(worker))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _respawn(self, old: _Worker) -> None:
        if old.process is not None:
            await old.process.wait()
        if self._closing:
            return
        try:
            worker, _ = await self._spawn(old.index)
        except ScriptLoadError as exc:
            self.on_fatal(f"replacement worker {old.index} failed to start: {exc}")
            return
        self._fill(worker)

    # --- life cycle --------------------------------------------------------------------------

    async def _spawn(self, index: int) -> tuple[_Worker, ScriptInfo]:
        loop = asyncio.get_running_loop()
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
        worker = _Worker(self, index)
        worker.process = process
        await loop.create_unix_connection(lambda: worker, sock=parent)
        try:
            kind, payload = await worker.hello
        except ConnectionError:
            self._drop(worker)
            code = await process.wait()
            raise ScriptLoadError(f"worker {index} exited with code {code} during init()") from None
        if kind != "ready":
            self._drop(worker)
            raise ScriptLoadError(str(payload))
        info: ScriptInfo = payload
        self._workers.add(worker)  # from now on its end is a failure to handle (on_lost)
        return worker, info

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.discard(worker)

    async def start(self) -> None:
        """Start every worker (init() runs in each, in parallel)."""
        results = await asyncio.gather(
            *(self._spawn(i) for i in range(self.count)), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            for r in results:
                if not isinstance(r, BaseException):
                    self._drop(r[0])
            first = errors[0]
            raise first if isinstance(first, ScriptLoadError) else ScriptLoadError(repr(first))
        for worker, info in results:  # type: ignore[misc]
            self._idle.append(worker)
            self.use_script_info(info)
        self._started = True

    async def close(self) -> None:
        """Close every worker's socket (they exit at EOF); SIGKILL stragglers."""
        self._closing = True
        for task in list(self._replacing):
            task.cancel()
        for worker in self._workers:
            if worker.transport is not None:
                worker.transport.close()
        for worker in list(self._workers):
            if worker.process is None:
                continue
            try:
                await asyncio.wait_for(worker.process.wait(), WORKER_EXIT_GRACE_S)
            except TimeoutError:
                worker.kill()
                await worker.process.wait()
        self._workers.clear()
