"""Where ``run()`` executes. Every back end owns the admission :class:`Gate` whose slots it
hands out, so a slot is free exactly when the thing behind it can take a new call:

* :class:`ThreadBackend` -- score.py loaded in the server process, run() called on dedicated
  threads (one per allowed concurrent call). A call over the scoring timeout is answered 504
  at once, but its thread keeps running and keeps its slot until run() returns (Python cannot
  stop a thread).
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
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

from aksml.runtime.gate import Gate
from aksml.runtime.messages import JSON_CT, ScoreRequest, ScoreResult, error_body
from aksml.runtime.script import LoadedScript, ScriptInfo, ScriptLoadError, ScriptLocation
from aksml.runtime.settings import RuntimeSettings
from aksml.runtime.swagger import build_documents, lookup_message

log = logging.getLogger("aksml.runtime")


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
        input_schema=script.input_schema if script.has_input_schema else None,
        output_schema=script.output_schema if script.decorated else None,
        supported=tuple(script.supported_swagger_versions),
        secured=settings.auth_mode != "none",
    )


class Backend(abc.ABC):
    """Runs scoring calls; owns the admission gate."""

    gate: Gate[Any]
    """Admission slots; a slot is handed to :meth:`score`, which gives it back."""
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
    async def score(self, slot: Any, req: ScoreRequest) -> ScoreResult:
        """Run one admitted call (bounded by the scoring timeout); gives ``slot`` back."""

    async def swagger(self, version: str | None, query: bytes) -> tuple[int, bytes, bytes]:
        """(status, body, content type) for GET swagger.json."""
        key, message = lookup_message(version, tuple(self._swagger) or self._swagger_supported)
        if key is None or key not in self._swagger:
            return 404, error_body(message), JSON_CT
        return 200, self._swagger[key], JSON_CT

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


def _nothing() -> None:
    return None


def _log_fatal(message: str) -> None:
    log.error("%s", message)


_LOAD = object()
_STOP = object()


class ThreadBackend(Backend):
    """score.py in this process; run() on ``max_concurrent_requests`` dedicated threads."""

    def __init__(self, settings: RuntimeSettings) -> None:
        """Prepare (not yet start) the threads."""
        super().__init__(settings)
        count = settings.max_concurrent_requests
        self.gate = Gate(range(count))
        self.description = f"in-process, {count} run() thread{'s' if count > 1 else ''}"
        self._jobs: SimpleQueue[tuple[Any, asyncio.Future[Any], Any]] = SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"aksml-run-{i}", daemon=True)
            for i in range(count)
        ]
        self._script: LoadedScript | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Start the threads; load score.py and run init() on one of them."""
        self._loop = asyncio.get_running_loop()
        for thread in self._threads:
            thread.start()
        done: asyncio.Future[Any] = self._loop.create_future()
        self._jobs.put((_LOAD, done, None))
        outcome = await done
        if isinstance(outcome, BaseException):
            raise outcome
        script: LoadedScript = outcome
        self._script = script
        self.use_script_info(script.info)

    def _work(self) -> None:
        loop = self._loop
        assert loop is not None
        jobs = self._jobs
        call_soon = loop.call_soon_threadsafe
        finish = self._finish
        while True:
            req, future, slot = jobs.get()
            if req is _STOP:
                return
            if req is _LOAD:
                outcome: Any
                try:
                    outcome = LoadedScript(
                        script_location(self.settings),
                        hide_authorization=self.settings.auth_mode != "none",
                    )
                except ScriptLoadError as exc:
                    outcome = exc
                except BaseException as exc:  # anything else escaping the user's code
                    outcome = ScriptLoadError(repr(exc))
                call_soon(_settle, future, outcome)
                continue
            script = self._script
            assert script is not None
            call_soon(finish, future, script.handle(req), slot)

    def _finish(self, future: asyncio.Future[ScoreResult], result: ScoreResult, slot: Any) -> None:
        self.gate.release(slot)
        if not future.done():
            future.set_result(result)

    async def score(self, slot: Any, req: ScoreRequest) -> ScoreResult:
        """Hand the call to a run() thread; 504 at the timeout (the thread keeps the slot)."""
        loop = self._loop
        assert loop is not None
        future: asyncio.Future[ScoreResult] = loop.create_future()
        started = time.perf_counter()
        self._jobs.put((req, future, slot))
        timer = loop.call_later(self.timeout_s, self._expire, future, started)
        try:
            return await future
        finally:
            timer.cancel()

    async def close(self) -> None:
        """Stop idle run() threads (a thread still inside run() ends with the process)."""
        loop = asyncio.get_running_loop()
        for _ in self._threads:
            self._jobs.put((_STOP, loop.create_future(), None))

    def _expire(self, future: asyncio.Future[ScoreResult], started: float) -> None:
        if not future.done():
            elapsed = (time.perf_counter() - started) * 1000.0
            log.warning(
                "run() exceeded the scoring timeout (%d ms); answering 504, the call keeps its "
                "slot until it returns",
                self.settings.scoring_timeout_ms,
            )
            future.set_result(timeout_result(self.settings.scoring_timeout_ms, elapsed))


def _settle(future: asyncio.Future[Any], outcome: Any) -> None:
    if not future.done():
        future.set_result(outcome)
