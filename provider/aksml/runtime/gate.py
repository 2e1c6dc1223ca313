"""FIFO admission: at most N holders at once, waiters served in arrival order, each waiting at
most a deadline (``max_request_wait_time``) before it is refused.

A slot is an object (a token in thread mode, a worker in process mode). The fast path -- a free
slot and nobody waiting -- allocates nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class Gate(Generic[T]):
    """A FIFO pool of slots with time-bounded waiting."""

    def __init__(self, slots: Iterable[T] = ()) -> None:
        """Start with the given free slots (more can be added with :meth:`release`)."""
        self._free: deque[T] = deque(slots)
        self._waiters: deque[tuple[float, asyncio.Future[T | None]]] = deque()
        """(deadline on the loop clock, future) per queued request, oldest first."""
        self.waiting = 0
        """Requests currently queued."""
        self.capacity = len(self._free)
        """Slots handed out or free (for metrics)."""

    @property
    def free(self) -> int:
        """Free slots right now."""
        return len(self._free)

    @property
    def in_use(self) -> int:
        """Slots currently held."""
        return self.capacity - len(self._free)

    def add(self, slot: T) -> None:
        """Add a new slot to the pool (grows capacity)."""
        self.capacity += 1
        self.release(slot)

    def try_acquire(self) -> T | None:
        """A free slot when nobody is queued ahead, else None (never waits)."""
        if self._free and not self._live_waiters():
            return self._free.popleft()
        return None

    def _live_waiters(self) -> bool:
        """Whether a queued request still waits (answered ones are dropped from the front; the
        ``waiting`` count lags until their tasks resume, so it cannot decide admission)."""
        waiters = self._waiters
        while waiters and waiters[0][1].done():
            waiters.popleft()
        return bool(waiters)

    async def acquire(self, timeout_s: float) -> T | None:
        """Wait FIFO for a slot at most ``timeout_s`` seconds; None when refused."""
        slot = self.try_acquire()
        if slot is not None or timeout_s <= 0:
            return slot
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T | None] = loop.create_future()
        self._waiters.append((loop.time() + timeout_s, waiter))
        self.waiting += 1
        timer = loop.call_later(timeout_s, _expire, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                got = waiter.result()
                if got is not None:
                    self.release(got)
            raise
        finally:
            self.waiting -= 1
            timer.cancel()

    def release(self, slot: T) -> None:
        """Give a slot back: to the oldest live waiter, else to the free list.

        A waiter whose deadline has passed is refused here rather than admitted, even if its
        timer has not fired yet (a busy loop runs timers late): no request is admitted after
        waiting longer than its bound.
        """
        now: float | None = None
        while self._waiters:
            deadline, waiter = self._waiters.popleft()
            if waiter.done():
                continue
            if now is None:
                now = waiter.get_loop().time()
            if now > deadline:
                waiter.set_result(None)
                continue
            waiter.set_result(slot)
            return
        self._free.append(slot)

    def discard(self) -> None:
        """Forget one held slot for good (shrinks capacity; e.g. a worker that is replaced)."""
        self.capacity -= 1

    def refuse_waiters(self) -> None:
        """Refuse every queued request at once (draining)."""
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)


def _expire(waiter: asyncio.Future[T | None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
