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
        self._waiters: deque[asyncio.Future[T | None]] = deque()
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
        if self._free and not self.waiting:
            return self._free.popleft()
        return None

    async def acquire(self, timeout_s: float) -> T | None:
        """Wait FIFO for a slot at most ``timeout_s`` seconds; None when refused."""
        slot = self.try_acquire()
        if slot is not None or timeout_s <= 0:
            return slot
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T | None] = loop.create_future()
        self._waiters.append(waiter)
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
        """Give a slot back: to the oldest live waiter, else to the free list."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(slot)
                return
        self._free.append(slot)

    def discard(self) -> None:
        """Forget one held slot for good (shrinks capacity; e.g. a worker that is replaced)."""
        self.capacity -= 1

    def refuse_waiters(self) -> None:
        """Refuse every queued request at once (draining)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)


def _expire(waiter: asyncio.Future[T | None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
