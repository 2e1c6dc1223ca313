"""The process back end's hand-off state machine, driven without processes: which call each
worker holds, what is written to it, and what happens to a call held in advance when the
worker is killed or dies (never run twice). End-to-end behaviour is in
test_runtime_admission.py; here the orderings that real processes cannot be made to hit on
demand (a result that arrives after the timeout decided to kill) are forced."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aksml.runtime.messages import ScoreRequest, ScoreResult
from aksml.runtime.settings import resolve_settings
from aksml.runtime.worker import CALL, FRAME
from aksml.runtime.workers import ProcessBackend, _Worker


class FakeTransport:
    """Records the (deadline, request) frames written to a worker."""

    def __init__(self) -> None:
        self.frames: list[tuple[float, ScoreRequest]] = []
        self.closed = False

    def writelines(self, buffers: tuple[bytes, bytes, bytes]) -> None:
        header, rest, body = buffers
        assert CALL.unpack(header) == (len(rest), len(body))
        deadline, req = pickle.loads(rest)
        self.frames.append((deadline, req._replace(body=body)))

    def close(self) -> None:
        self.closed = True

    def tags(self) -> list[str]:
        return [req.body.decode() for _, req in self.frames]


class FakeProcess:
    def __init__(self) -> None:
        self.returncode: int | None = None
        self.killed = False

    def kill(self) -> None:
        self.killed = True
        self.returncode = -9

    async def wait(self) -> int:
        return -9


def _req(tag: str) -> ScoreRequest:
    return ScoreRequest("POST", b"", "application/json", (), tag.encode())


def _ok(tag: str) -> ScoreResult:
    return ScoreResult(200, tag.encode(), False, 1.0)


def _finish(result: ScoreResult | None, waited: float) -> tuple[int, bytes]:
    return (503, b"refused") if result is None else (result.status, result.body)


def _run(
    tmp_path: Path,
    workers: int,
    body: Callable[[ProcessBackend, list[_Worker]], Coroutine[Any, Any, None]],
    **extra: str,
) -> None:
    script = tmp_path / "score.py"
    script.write_text("def init(): pass\ndef run(raw): return raw\n")
    settings = resolve_settings(
        {
            "entry_script": str(script),
            "max_concurrent_requests": str(workers),
            "worker_mode": "process",
            **extra,
        },
        {},
    )

    async def scenario() -> None:
        backend = ProcessBackend(settings)

        async def never_ready(index: int) -> Any:  # replacements never come up here
            await asyncio.sleep(3600)

        backend._spawn = never_ready  # type: ignore[method-assign]
        fakes: list[_Worker] = []
        for i in range(workers):
            worker = _Worker(backend, i)
            worker.process = FakeProcess()  # type: ignore[assignment]
            worker.connection_made(FakeTransport())  # type: ignore[arg-type]
            worker.hello.set_result(("ready", None))
            backend._workers.add(worker)
            backend._idle.append(worker)
            fakes.append(worker)
        backend._started = True
        try:
            await body(backend, fakes)
        finally:
            backend._closing = True
            for task in list(backend._replacing):
                task.cancel()

    asyncio.run(scenario())


def _submit(backend: ProcessBackend, tag: str, wait_s: float = 10.0) -> asyncio.Future[Any]:
    return backend.submit(_req(tag), wait_s, _finish)


def _transport(worker: _Worker) -> FakeTransport:
    return worker.transport  # type: ignore[return-value]


def test_one_call_runs_one_waits_in_the_worker_the_rest_queue(tmp_path: Path) -> None:
    async def body(backend: ProcessBackend, workers: list[_Worker]) -> None:
        (worker,) = workers
        a, b, c = _submit(backend, "a"), _submit(backend, "b"), _submit(backend, "c")
        assert _transport(worker).tags() == ["a", "b"]  # a runs, b is handed ahead
        assert backend.in_flight == 1 and backend.queue_depth == 2
        worker.data_received(_frame(_ok("a")))  # the worker answers a and starts b
        assert a.result() == (200, b"a") and not b.done()
        assert _transport(worker).tags() == ["a", "b", "c"]  # c handed ahead at once
        assert backend.queue_depth == 1
        worker.data_received(_frame(_ok("b")) + _frame(_ok("c")))
        assert (b.result(), c.result()) == ((200, b"b"), (200, b"c"))
        assert backend.in_flight == 0 and backend.queue_depth == 0

    _run(tmp_path, 1, body)


def test_a_call_skipped_by_the_worker_is_refused(tmp_path: Path) -> None:
    async def body(backend: ProcessBackend, workers: list[_Worker]) -> None:
        (worker,) = workers
        a, b = _submit(backend, "a"), _submit(backend, "b")
        deadline = _transport(worker).frames[1][0]
        assert deadline > 0  # the worker gets the deadline of a call that waits
        assert _transport(worker).frames[0][0] == 0  # and none for one that starts now
        worker.data_received(_frame(_ok("a")) + _frame(None))
        assert a.result() == (200, b"a") and b.result() == (503, b"refused")

    _run(tmp_path, 1, body)


def test_timeout_requeues_the_call_the_killed_worker_never_started(tmp_path: Path) -> None:
    async def body(backend: ProcessBackend, workers: list[_Worker]) -> None:
        stuck, free = workers
        a, b = _submit(backend, "a"), _submit(backend, "b")  # a on one worker, b on the other
        c = _submit(backend, "c")  # handed ahead to a's worker (a started first)
        assert _transport(stuck).tags() == ["a", "c"]
        await asyncio.sleep(0.35)  # a and b time out (scoring timeout 300 ms)
        assert a.result()[0] == 504 and b.result()[0] == 504
        assert stuck.process.killed  # type: ignore[union-attr]
        stuck.connection_lost(None)  # its socket ends with nothing more from it
        free.connection_lost(None)
        assert not c.done()
        assert [call.req.body for call in backend._queued] == [b"c"]  # first in line again

    _run(tmp_path, 2, body, scoring_timeout_ms="300")


def test_a_result_read_after_the_timeout_means_the_next_call_started(tmp_path: Path) -> None:
    """The worker finished just as the timeout fired and began the call it held: that call
    ran in a killed process, so it is answered 502 -- never handed to another worker."""

    async def body(backend: ProcessBackend, workers: list[_Worker]) -> None:
        (worker,) = workers
        a, b = _submit(backend, "a"), _submit(backend, "b")
        await asyncio.sleep(0.35)
        assert a.result()[0] == 504
        worker.data_received(_frame(_ok("a")))  # sent before the kill, read after
        worker.connection_lost(None)
        assert b.result()[0] == 502
        assert not backend._queued

    _run(tmp_path, 1, body, scoring_timeout_ms="300")


def test_a_crash_answers_the_running_call_and_requeues_the_waiting_one(tmp_path: Path) -> None:
    async def body(backend: ProcessBackend, workers: list[_Worker]) -> None:
        (worker,) = workers
        a, b = _submit(backend, "a"), _submit(backend, "b")
        worker.connection_lost(None)
        assert a.result()[0] == 502
        assert not b.done() and [call.req.body for call in backend._queued] == [b"b"]
        assert worker.gone and worker.process.killed  # type: ignore[union-attr]

    _run(tmp_path, 1, body)


def _frame(result: ScoreResult | None) -> bytes:
    payload = pickle.dumps(result)
    return FRAME.pack(len(payload)) + payload


def test_without_prefetch_nothing_is_handed_ahead(tmp_path: Path) -> None:
    async def body(backend: ProcessBackend, workers: list[_Worker]) -> None:
        (worker,) = workers
        a, b = _submit(backend, "a"), _submit(backend, "b")
        assert _transport(worker).tags() == ["a"]
        assert backend.queue_depth == 1
        worker.data_received(_frame(_ok("a")))
        assert a.result() == (200, b"a")
        assert _transport(worker).tags() == ["a", "b"]  # b starts only now
        worker.data_received(_frame(_ok("b")))
        assert b.result() == (200, b"b")

    _run(tmp_path, 1, body, worker_prefetch="0")
