#!/usr/bin/env python3
"""In-process microbenchmark of the scoring app layer: the time ``ScoringApp`` spends per
request outside the HTTP protocol and outside run() -- routing, key auth, request ids,
admission, the response headers and metrics -- with a back end that answers at once.

Usage::

    uv run python bench/app_layer.py [--requests 50000] [--rounds 5]

Prints the best round's CPU time per request (process time, so that other load on a shared
machine disturbs it less than wall time). No HTTP, no thread hand-off: only the app layer.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aksml.runtime.app import ScoringApp
from aksml.runtime.auth import KeyAuthenticator
from aksml.runtime.backends import Backend
from aksml.runtime.httpproto import HttpRequest
from aksml.runtime.messages import ScoreRequest, ScoreResult
from aksml.runtime.metrics import RuntimeMetrics
from aksml.runtime.settings import RuntimeSettings

KEY = "k" * 43
BODY = b'{"data": [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]}'
HEADERS = [
    (b"host", b"127.0.0.1:8080"),
    (b"content-type", b"application/json"),
    (b"authorization", b"Bearer " + KEY.encode()),
    (b"content-length", str(len(BODY)).encode()),
]
RESULT = ScoreResult(200, b'{"rows": 2}', False, 0.01)


class ImmediateBackend(Backend):
    """Answers every call at once (a done future), so only the app layer is timed."""

    in_flight = 0
    queue_depth = 0

    async def start(self) -> None:
        """Nothing to start."""

    async def close(self) -> None:
        """Nothing to close."""

    def refuse_waiters(self) -> None:
        """Nobody waits."""

    def submit(
        self, req: ScoreRequest, wait_s: float, finish: Callable[[ScoreResult | None, float], Any]
    ) -> asyncio.Future[Any]:
        """A done future holding ``finish(RESULT, 0.0)``."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(finish(RESULT, 0.0))
        return future


async def measure(requests: int, rounds: int) -> float:
    """Best round's CPU seconds per request."""
    settings = RuntimeSettings(entry_script=Path("score.py"), auth_mode="key", primary_key=KEY)
    app = ScoringApp(
        settings,
        ImmediateBackend(settings),
        authenticator=KeyAuthenticator(KEY),
        metrics=RuntimeMetrics(lambda: 0.0, lambda: 0.0),
    )
    app.ready = True

    def one() -> None:
        answer = app.dispatch(HttpRequest("POST", "/score", b"", HEADERS, BODY, False, True))
        if isinstance(answer, asyncio.Future):
            answer = answer.result()
        assert answer[0] == 200, answer

    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(requests):
            one()
        best = min(best, (time.process_time() - started) / requests)
    return best


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    per_request = asyncio.run(measure(args.requests, args.rounds))
    print(f"app layer: {per_request * 1e6:.1f} µs CPU per request (best of {args.rounds})")


if __name__ == "__main__":
    main()
