"""Where ``run()`` executes. Every back end decides admission itself, so a slot is free exactly
when the thing behind it can take a new call:

* :class:`ThreadBackend` -- score.py loaded in the server process, run() called on dedicated
  threads (one per allowed concurrent call) that take calls from one FIFO queue. A call over
  the scoring timeout is answered 504 at once, but its thread keeps running and keeps its slot
  until run() returns (Python cannot stop a thread).
* ``ProcessBackend`` (:mod:`aksml.runtime.workers`) -- one worker process per slot, each
  running init() once; a call over the timeout gets 504, its worker is killed and replaced,
  and the slot comes back when the replacement's init() has returned.
* ``ProxyBackend`` (:mod:`aksml.runtime.proxy`) -- forwards to an HTTP model server.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, Protocol, TypeVar, cast

from aksml.runtime.gate import Gate
from aksml.runtime.messages import JSON_CT, ScoreRequest, ScoreResult, error_body
from aksml.runtime.script import LoadedScript, ScriptInfo, ScriptLoadError, ScriptLocation
from aksml.runtime.settings import RuntimeSettings
from aksml.runtime.streaming import ThreadedStream, pump
from aksml.runtime.swagger import build_documents, lookup_message

log = logging.getLogger("aksml.runtime")
_R = TypeVar("_R")


def timeout_result(timeout_ms: int, elapsed_ms: float) -> ScoreResult:
    """The 504 answer for a call that exceeded the scoring timeout."""
    return ScoreResult(
        504,
        error_body(f"Scoring timeout after {timeout_ms} ms"),
        True,
        elapsed_ms,
        "scoring timeout",
    )


def script_location(settings: RuntimeSettings) -> ScriptLocation:
    """The score.py location of in-process and worker back ends."""
    if settings.entry_script is None:
        raise ScriptLoadError("no entry script configured")
    return ScriptLocation(
        entry_script=settings.entry_script,
        app_root=settings.app_root,
        source_dir=settings.source_dir,
        model_dir=settings.model_dir,
    )


def swagger_documents(settings: RuntimeSettings, script: ScriptInfo) -> dict[str, bytes]:
    """Swagger documents for a loaded script."""
    return build_documents(
        app_root=settings.app_root,
        service_name=settings.service_name,
        path_prefix=settings.aml_prefix or "",
        input_schema=script.input_schema if script.decorated else None,
        output_schema=script.output_schema if script.decorated else None,
        supported=tuple(script.supported_swagger_versions),
        secured=settings.auth_mode != "none",
    )


class Backend(abc.ABC):
    """Runs scoring calls and decides admission (at most ``max_concurrent_requests`` calls of
    run() at once; the rest wait FIFO at most ``max_request_wait_time``, then are refused)."""

    wants_headers = False
    """Whether requests must carry their headers (run() takes request_headers, or proxying)."""
    description = ""
    """One line for the startup banner."""

    def __init__(self, settings: RuntimeSettings) -> None:
        """Remember the settings; nothing starts before :meth:`start`."""
        self.settings = settings
        self.timeout_s = settings.scoring_timeout_ms / 1000.0
        self._swagger: dict[str, bytes] = {}
        self._swagger_supported: tuple[str, ...] = ()
        self.on_fatal: Callable[[str], None] = _log_fatal
        """Called when serving cannot go on (e.g. a replacement worker's init() failed)."""
        self.on_worker_restart: Callable[[], None] = _nothing
        """Called each time a worker process is replaced (process mode)."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Load the script / start workers; raise :class:`ScriptLoadError` on failure."""

    @abc.abstractmethod
    def submit(
        self, req: ScoreRequest, wait_s: float, finish: Callable[[ScoreResult | None, float], _R]
    ) -> asyncio.Future[_R]:
        """Admit and run one call; the future holds ``finish(result, queue_wait_s)``.

        ``result`` is None when the call was refused (no slot within ``wait_s`` seconds, or
        draining); ``finish`` runs on the event loop exactly once per call.
        """

    @property
    @abc.abstractmethod
    def in_flight(self) -> int:
        """Calls holding a slot right now (a timed-out call still running counts)."""

    @property
    @abc.abstractmethod
    def queue_depth(self) -> int:
        """Calls waiting for a slot right now."""

    @abc.abstractmethod
    def refuse_waiters(self) -> None:
        """Refuse every queued call at once (draining)."""

    async def swagger(self, version: str | None, query: bytes) -> tuple[int, bytes, bytes]:
        """(status, body, content type) for GET swagger.json."""
        return self.swagger_local(version)

    def swagger_local(self, version: str | None) -> tuple[int, bytes, bytes]:
        """The swagger answer from the loaded script's documents (no I/O)."""
        key, message = lookup_message(version, tuple(self._swagger) or self._swagger_supported)
        if key is None or key not in self._swagger:
            return 404, error_body(message), JSON_CT
        return 200, self._swagger[key], JSON_CT

    local_swagger = True
    """Whether :meth:`swagger` answers from local documents (False: it asks an upstream)."""
    local_readiness = True
    """Whether readiness needs nothing beyond init() (False: :meth:`ready` asks an upstream)."""

    def use_script_info(self, info: ScriptInfo) -> None:
        """Take request routing and swagger documents from a loaded script."""
        self.wants_headers = info.wants_headers
        self._swagger = swagger_documents(self.settings, info)
        self._swagger_supported = info.supported_swagger_versions

    async def ready(self) -> bool:
        """Readiness beyond init() (proxy mode asks the upstream)."""
        return True

    @abc.abstractmethod
    async def close(self) -> None:
        """Release resources."""


class GatedBackend(Backend):
    """A back end whose slots are objects in a FIFO :class:`Gate` (worker processes,
    upstream connections); :meth:`score` runs one admitted call and gives its slot back."""

    gate: Gate[Any]
    """Admission slots; a slot is handed to :meth:`score`, which gives it back."""

    @abc.abstractmethod
    async def score(self, slot: Any, req: ScoreRequest) -> ScoreResult:
        """Run one admitted call (bounded by the scoring timeout); gives ``slot`` back."""

    def submit(
        self, req: ScoreRequest, wait_s: float, finish: Callable[[ScoreResult | None, float], _R]
    ) -> asyncio.Future[_R]:
        """Wait for a gate slot, then :meth:`score` (a task per call)."""
        return asyncio.ensure_future(self._gated(req, wait_s, finish))

    async def _gated(
        self, req: ScoreRequest, wait_s: float, finish: Callable[[ScoreResult | None, float], _R]
    ) -> _R:
        gate = self.gate
        queued = time.perf_counter()
        slot = gate.try_acquire()
        if slot is None:
            slot = await gate.acquire(wait_s)
            if slot is None:
                return finish(None, time.perf_counter() - queued)
        waited = time.perf_counter() - queued
        return finish(await self.score(slot, req), waited)

    @property
    def in_flight(self) -> int:
        """Slots held."""
        return self.gate.in_use

    @property
    def queue_depth(self) -> int:
        """Calls queued at the gate."""
        return self.gate.waiting

    def refuse_waiters(self) -> None:
        """Refuse every call queued at the gate."""
        self.gate.refuse_waiters()


def _nothing() -> None:
    return None


def _log_fatal(message: str) -> None:
    log.error("%s", message)


TICK_S = 0.005
"""How often the thread back end checks queue deadlines and scoring timeouts while busy: a
refused request is answered at most this late; a request is never *admitted* late (the run()
thread re-checks the deadline when it takes the call)."""
HANDOFF_GRACE_S = 0.005
"""With ``max_request_wait_time`` 0, how long a call may take to reach an idle run() thread."""

_LOAD = object()
_STOP = object()


class _Job:
    """One submitted call of the thread back end."""

    __slots__ = ("deadline", "finish", "future", "queued", "req", "started", "stream", "token")

    def __init__(
        self,
        req: ScoreRequest,
        future: asyncio.Future[Any],
        finish: Callable[[ScoreResult | None, float], Any],
        queued: float,
        deadline: float,
    ) -> None:
        self.req = req
        self.future = future
        self.finish = finish
        self.queued = queued
        self.deadline = deadline
        self.token = [True]
        """Claimed by whoever pops it first (a run() thread or the loop refusing it); list.pop
        is atomic under the GIL, so exactly one side wins without a lock."""
        self.started = 0.0
        self.stream: ThreadedStream | None = None
        """The streamed body run() returned, while its generator runs."""


class ThreadBackend(Backend):
    """score.py in this process; run() on ``max_concurrent_requests`` dedicated threads.

    Admission without a per-call task: calls go straight into one FIFO queue the run() threads
    take from, so at most one call per thread runs; a call still queued at its deadline is
    refused (by the loop's ticker, or by the thread that takes it, whichever comes first).
    """

    def __init__(self, settings: RuntimeSettings) -> None:
        """Prepare (not yet start) the threads."""
        super().__init__(settings)
        count = settings.max_concurrent_requests
        self.description = f"in-process, {count} run() thread{'s' if count > 1 else ''}"
        self._jobs: SimpleQueue[Any] = SimpleQueue()
        self._queued: deque[_Job] = deque()
        """Submitted calls in arrival order (claimed ones are dropped from the front lazily)."""
        self._running: list[_Job | None] = [None] * count
        """The call each run() thread is inside (written only by that thread)."""
        self._threads = [
            threading.Thread(target=self._work, args=(i,), name=f"aksml-run-{i}", daemon=True)
            for i in range(count)
        ]
        self._script: LoadedScript | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Start the threads; load score.py and run init() on one of them."""
        self._loop = asyncio.get_running_loop()
        for thread in self._threads:
            thread.start()
        done: asyncio.Future[Any] = self._loop.create_future()
        self._jobs.put((_LOAD, done))
        outcome = await done
        if isinstance(outcome, BaseException):
            raise outcome
        script: LoadedScript = outcome
        self._script = script
        self.use_script_info(script.info)

    @property
    def in_flight(self) -> int:
        """run() calls in progress (one that timed out counts until it returns)."""
        return sum(job is not None for job in self._running)

    @property
    def queue_depth(self) -> int:
        """Calls submitted and not yet taken by a thread or refused."""
        return sum(bool(job.token) for job in self._queued)

    def submit(
        self, req: ScoreRequest, wait_s: float, finish: Callable[[ScoreResult | None, float], _R]
    ) -> asyncio.Future[_R]:
        """Queue the call for the run() threads (no task, no per-call timer)."""
        loop = self._loop
        assert loop is not None
        future: asyncio.Future[_R] = loop.create_future()
        now = time.perf_counter()
        if wait_s <= 0:
            if self._queued_live() or all(job is not None for job in self._running):
                future.set_result(finish(None, 0.0))
                return future
            wait_s = HANDOFF_GRACE_S
        job = _Job(req, future, finish, now, now + wait_s)
        self._queued.append(job)
        self._jobs.put(job)
        if self._ticker is None:
            self._ticker = loop.call_later(TICK_S, self._tick)
        return future

    def _queued_live(self) -> bool:
        queued = self._queued
        while queued and not queued[0].token:
            queued.popleft()
        return bool(queued)

    def _tick(self) -> None:
        """Refuse calls queued past their deadline; answer 504 for runs past the timeout."""
        self._ticker = None
        now = time.perf_counter()
        queued = self._queued
        while queued:
            job = queued[0]
            if not job.token:
                queued.popleft()
            elif now >= job.deadline:
                queued.popleft()
                if _claim(job):
                    settle(job, None, now - job.queued)
            else:
                break
        busy = False
        for running in self._running:
            if running is None:
                continue
            busy = True
            job = running
            if job.stream is not None:
                if now - job.started >= self.timeout_s and not job.stream.cancelled:
                    log.warning(
                        "a streamed response exceeded the scoring timeout (%d ms); "
                        "connection closed",
                        self.settings.scoring_timeout_ms,
                    )
                    job.stream.abort()
            elif not job.future.done() and now - job.started >= self.timeout_s:
                elapsed = (now - job.started) * 1000.0
                log.warning(
                    "run() exceeded the scoring timeout (%d ms); answering 504, the call keeps "
                    "its thread until it returns",
                    self.settings.scoring_timeout_ms,
                )
                settle(
                    job,
                    timeout_result(self.settings.scoring_timeout_ms, elapsed),
                    job.started - job.queued,
                )
        if queued or busy:
            loop = self._loop
            assert loop is not None
            self._ticker = loop.call_later(TICK_S, self._tick)

    def refuse_waiters(self) -> None:
        """Refuse every call not yet taken by a thread."""
        now = time.perf_counter()
        while self._queued:
            job = self._queued.popleft()
            if _claim(job):
                settle(job, None, now - job.queued)

    def _work(self, index: int) -> None:
        loop = self._loop
        assert loop is not None
        jobs = self._jobs
        running = self._running
        call_soon = loop.call_soon_threadsafe
        clock = time.perf_counter
        while True:
            job = jobs.get()
            if job is _STOP:
                return
            if type(job) is tuple:  # (_LOAD, future)
                outcome: Any
                try:
                    outcome = LoadedScript(
                        script_location(self.settings),
                        hide_authorization=self.settings.auth_mode != "none",
                        streaming=True,
                    )
                except ScriptLoadError as exc:
                    outcome = exc
                except BaseException as exc:  # anything else escaping the user's code
                    outcome = ScriptLoadError(repr(exc))
                try:
                    call_soon(_set, job[1], outcome)
                except RuntimeError:  # the server stopped (SIGTERM) while init() ran
                    return
                continue
            if not _claim(job):
                continue  # refused meanwhile
            now = clock()
            if now > job.deadline:  # the loop was late refusing it: never admit it late
                call_soon(settle, job, None, now - job.queued)
                continue
            job.started = now
            script = self._script
            assert script is not None
            running[index] = job
            result = script.handle(job.req)
            if result.stream is not None:
                self._stream(job, result, now)
            running[index] = None
            try:
                call_soon(settle, job, result, now - job.queued)
            except RuntimeError:  # the server stopped while run() ran
                return

    def _stream(self, job: _Job, result: ScoreResult, started: float) -> None:
        """Answer with the head now, then run the body's generator here (this thread keeps
        its slot until the body ends; the scoring timeout covers the whole stream)."""
        loop = self._loop
        assert loop is not None
        stream = ThreadedStream(loop)
        job.stream = stream
        try:
            loop.call_soon_threadsafe(
                settle,
                job,
                # the protocol writes a non-bytes body as a stream (httpproto.StreamBody)
                result._replace(body=cast(bytes, stream), stream=None),
                started - job.queued,
            )
        except RuntimeError:  # the server stopped
            result.stream.close()
            return
        pump(result.stream, stream, job.started + self.timeout_s)
        job.stream = None

    @property
    def streaming(self) -> int:
        """Streamed responses still being produced."""
        return sum(job is not None and job.stream is not None for job in self._running)

    async def close(self) -> None:
        """Stop idle run() threads (a thread still inside run() ends with the process)."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        for _ in self._threads:
            self._jobs.put(_STOP)


def _claim(job: _Job) -> bool:
    try:
        job.token.pop()
    except IndexError:
        return False
    return True


class PendingCall(Protocol):
    """A submitted call as the back ends keep it: its future and how to finish it."""

    future: asyncio.Future[Any]
    finish: Callable[[ScoreResult | None, float], Any]


def settle(call: PendingCall, result: ScoreResult | None, waited_s: float) -> None:
    """Answer a submitted call once: its future gets ``finish(result, waited_s)`` (later
    answers are ignored; if finish raises, the connection still gets an answer, 500)."""
    future = call.future
    if future.done():
        return
    try:
        future.set_result(call.finish(result, waited_s))
    except BaseException as exc:
        future.set_exception(exc)


def _set(future: asyncio.Future[Any], outcome: Any) -> None:
    if not future.done():
        future.set_result(outcome)
