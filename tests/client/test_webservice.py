"""Webservice.run() against a real HTTP server on 127.0.0.1 (scripted replies)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

import numpy as np
import pytest

from aksml.client import (
    AccessToken,
    AsyncWebservice,
    RetryPolicy,
    ServiceConnectionError,
    ServiceResponseError,
    Webservice,
)
from aksml.errors import WebserviceException

NO_JITTER = RetryPolicy(jitter=0.0)
T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run on a private loop: unlike asyncio.run(), leaves the thread's current event loop
    alone (Pulumi-mock tests later in the session call asyncio.get_event_loop())."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def _ws(server: Any, sleeps: Any, **kwargs: Any) -> Webservice:
    kwargs.setdefault("retry", NO_JITTER)
    return Webservice(server.url, sleep=sleeps, **kwargs)


def test_run_sends_v1_headers_and_json_encodes_dicts(server: Any, sleeps: Any) -> None:
    server.script(server.reply(200, {"result": [1, 2]}))
    with _ws(server, sleeps, key="k1") as ws:
        assert ws.run({"data": [[1, 2]]}) == {"result": [1, 2]}
    (req,) = server.seen
    assert req.method == "POST"
    assert req.path == "/api/v1/service/svc/score"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["accept"] == "application/json"
    assert req.headers["authorization"] == "Bearer k1"
    assert json.loads(req.body) == {"data": [[1, 2]]}
    assert sleeps.delays == []


@pytest.mark.parametrize(
    ("data", "body"),
    [
        ('{"a": 1}', b'{"a": 1}'),
        ("not json at all", b"not json at all"),
        (b"\x00\x01raw", b"\x00\x01raw"),
        ([1, 2, 3], b"[1, 2, 3]"),
        (np.array([[1.5, 2.0]]), b"[[1.5, 2.0]]"),
    ],
)
def test_body_encoding(server: Any, sleeps: Any, data: Any, body: bytes) -> None:
    with _ws(server, sleeps) as ws:
        ws.run(data)
    assert server.seen[0].body == body
    assert "authorization" not in server.seen[0].headers


def test_unencodable_input_is_a_webservice_exception(server: Any, sleeps: Any) -> None:
    with _ws(server, sleeps) as ws, pytest.raises(WebserviceException, match="JSON-encoded"):
        ws.run({"x": object()})
    assert server.seen == []


def test_503_backs_off_exponentially_then_succeeds(server: Any, sleeps: Any) -> None:
    server.script(server.reply(503), server.reply(503), server.reply(200, [0.5]))
    with _ws(server, sleeps, key="k") as ws:
        assert ws.run("{}") == [0.5]
    assert len(server.seen) == 3
    assert sleeps.delays == [0.5, 1.0]
    # one client request id for the whole call
    assert len({r.headers["x-ms-client-request-id"] for r in server.seen}) == 1


def test_retry_after_is_honoured(server: Any, sleeps: Any) -> None:
    server.script(
        server.reply(429, {"message": "slow down"}, {"Retry-After": "7"}),
        server.reply(503, None, {"Retry-After": "1000"}),
        server.reply(200, {"ok": 1}),
    )
    policy = RetryPolicy(jitter=0.0, max_retry_after=60.0)
    with _ws(server, sleeps, retry=policy) as ws:
        assert ws.run("{}") == {"ok": 1}
    assert sleeps.delays == [7.0, 60.0]


def test_jitter_stays_within_bounds(server: Any, sleeps: Any) -> None:
    server.script(server.reply(502), server.reply(502), server.reply(200, 1))
    policy = RetryPolicy(backoff=2.0, jitter=0.5)
    with Webservice(server.url, sleep=sleeps, retry=policy, rand=lambda: 1.0) as ws:
        ws.run("{}")
    assert sleeps.delays == [1.0, 2.0]


def test_permanent_503_is_tried_four_times_then_raises(server: Any, sleeps: Any) -> None:
    server.script(server.reply(503, {"message": "queue full"}, {"x-request-id": "rid-503"}))
    with _ws(server, sleeps) as ws, pytest.raises(ServiceResponseError) as info:
        ws.run("{}")
    assert len(server.seen) == 4  # v1: a permanently-503 endpoint was hit 4 times
    assert sleeps.delays == [0.5, 1.0, 2.0]
    exc = info.value
    assert isinstance(exc, WebserviceException)
    assert exc.status_code == 503
    assert exc.request_id == "rid-503"
    assert exc.server_message == "queue full"
    assert exc.attempts == 4
    assert exc.message.startswith("Received bad response from service.")
    assert "Response Code: 503" in exc.message
    assert "Request Id: rid-503" in exc.message


@pytest.mark.parametrize("status", [408, 500, 502, 504])
def test_transient_statuses_are_retried(server: Any, sleeps: Any, status: int) -> None:
    server.script(server.reply(status), server.reply(200, {"ok": True}))
    with _ws(server, sleeps) as ws:
        assert ws.run("{}") == {"ok": True}
    assert len(server.seen) == 2


@pytest.mark.parametrize("status", [400, 403, 404, 413, 415])
def test_client_errors_are_not_retried(server: Any, sleeps: Any, status: int) -> None:
    server.script(
        server.reply(
            status,
            {"message": "POST body should be a JSON dictionary."},
            {"x-ms-request-id": "legacy-id"},
        )
    )
    with _ws(server, sleeps, key="k") as ws, pytest.raises(ServiceResponseError) as info:
        ws.run("[]")
    assert len(server.seen) == 1
    assert sleeps.delays == []
    assert info.value.status_code == status
    assert info.value.request_id == "legacy-id"
    assert info.value.server_message == "POST body should be a JSON dictionary."
    assert "after 1 attempt(s)" in info.value.summary()


def test_error_without_server_request_id_uses_ours(server: Any, sleeps: Any) -> None:
    server.script(server.reply(400, raw=b"plain text failure"))
    with _ws(server, sleeps) as ws, pytest.raises(ServiceResponseError) as info:
        ws.run("{}")
    assert info.value.request_id == server.seen[0].headers["x-ms-client-request-id"]
    assert info.value.server_message == "plain text failure"


def test_retries_are_configurable(server: Any, sleeps: Any) -> None:
    server.script(server.reply(500))
    with (
        _ws(server, sleeps, retry=RetryPolicy(retries=0)) as ws,
        pytest.raises(ServiceResponseError),
    ):
        ws.run("{}")
    assert len(server.seen) == 1
    server.script(server.reply(500))
    policy = RetryPolicy(retries=5, statuses=frozenset({500}))
    with _ws(server, sleeps, retry=policy) as ws, pytest.raises(ServiceResponseError):
        ws.run("{}")
    assert len(server.seen) == 6


def test_401_refreshes_the_key_once(server: Any, sleeps: Any) -> None:
    keys = iter([("old", None), ("new", "second")])
    calls: list[int] = []

    def provider() -> tuple[str, str | None]:
        calls.append(1)
        return next(keys)

    server.script(server.reply(401, {"message": "bad key"}), server.reply(200, {"ok": 1}))
    with _ws(server, sleeps, keys_provider=provider) as ws:
        assert ws.run("{}") == {"ok": 1}
    assert [r.headers["authorization"] for r in server.seen] == ["Bearer old", "Bearer new"]
    assert len(calls) == 2
    assert sleeps.delays == []


def test_second_401_raises(server: Any, sleeps: Any) -> None:
    server.script(server.reply(401, {"message": "Unauthorized"}))
    with _ws(server, sleeps, key="k") as ws, pytest.raises(ServiceResponseError) as info:
        ws.run("{}")
    assert len(server.seen) == 2
    assert info.value.status_code == 401


def test_401_without_credentials_is_not_retried(server: Any, sleeps: Any) -> None:
    server.script(server.reply(401))
    with _ws(server, sleeps) as ws, pytest.raises(ServiceResponseError):
        ws.run("{}")
    assert len(server.seen) == 1


def test_connection_errors_are_retried_then_raised(sleeps: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ws = Webservice(f"http://127.0.0.1:{port}/score", sleep=sleeps, retry=NO_JITTER)
    with ws, pytest.raises(ServiceConnectionError) as info:
        ws.run("{}")
    assert info.value.attempts == 4
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert info.value.status_code is None
    assert "ConnectError" in info.value.message


def test_timeouts_are_retried(server: Any, sleeps: Any) -> None:
    server.script(server.reply(200, {"late": True}, delay=0.6))
    policy = RetryPolicy(retries=1, jitter=0.0)
    ws = _ws(server, sleeps, timeout=0.1, retry=policy)
    with ws, pytest.raises(ServiceConnectionError, match="ReadTimeout"):
        ws.run("{}")
    assert len(server.seen) == 2


def test_connection_is_reused(server: Any, sleeps: Any) -> None:
    server.script(server.reply(200, 1))
    with _ws(server, sleeps) as ws:
        for _ in range(5):
            ws.run("{}")
    assert len(server.seen) == 5
    assert len(server.connections) == 1


def test_success_bodies(server: Any, sleeps: Any) -> None:
    server.script(server.reply(200, raw=b"Healthy"), server.reply(204, raw=b""))
    with _ws(server, sleeps) as ws:
        assert ws.run("{}") == "Healthy"
        assert ws.run("{}") is None


def test_no_scoring_uri_has_the_v1_message() -> None:
    ws = Webservice(None, state="Failed", error="ImagePullBackOff")
    with pytest.raises(WebserviceException) as info:
        ws.run("{}")
    assert info.value.message == (
        "Error attempting to call webservice, scoring_uri unavailable. This could be due to a "
        "failed deployment, or the service is not ready yet.\nCurrent State: Failed\n"
        "Errors: ImagePullBackOff"
    )


def test_swagger_uri_is_derived_like_v1() -> None:
    ws = Webservice("http://1.2.3.4:80/api/v1/service/mysvc/score")
    assert ws.swagger_uri == "http://1.2.3.4:80/api/v1/service/mysvc/swagger.json"


def test_keys() -> None:
    ws = Webservice("http://127.0.0.1:1/score", key="p", secondary_key="s")
    assert ws.get_keys() == ("p", "s")
    assert ws.auth_enabled and not ws.token_auth_enabled
    with pytest.raises(WebserviceException, match="no keys available"):
        Webservice("http://127.0.0.1:1/score").get_keys()


def test_key_and_token_are_exclusive() -> None:
    with pytest.raises(WebserviceException, match="cannot both be used"):
        Webservice("http://127.0.0.1:1/score", key="k", token_provider=lambda: "t")


# --- tokens ----------------------------------------------------------------------------------


def _token(value: str, refresh_in: float = 3600) -> AccessToken:
    now = dt.datetime.now(dt.UTC)
    return AccessToken(
        value, "Bearer", now + dt.timedelta(seconds=refresh_in), now + dt.timedelta(hours=2)
    )


def test_token_auth_refreshes_on_401(server: Any, sleeps: Any) -> None:
    tokens = iter([_token("t1"), _token("t2")])
    server.script(server.reply(401), server.reply(200, {"ok": 1}))
    with _ws(server, sleeps, token_provider=lambda: next(tokens)) as ws:
        assert ws.run("{}") == {"ok": 1}
        assert ws.get_access_token().access_token == "t2"
    assert [r.headers["authorization"] for r in server.seen] == ["Bearer t1", "Bearer t2"]


def test_token_is_refetched_after_refresh_after(server: Any, sleeps: Any) -> None:
    tokens = iter([_token("stale", refresh_in=-1), _token("fresh")])
    server.script(server.reply(200, 1))
    with _ws(server, sleeps, token_provider=lambda: next(tokens)) as ws:
        ws.run("{}")
        ws.run("{}")
    assert [r.headers["authorization"] for r in server.seen] == ["Bearer stale", "Bearer fresh"]


def test_get_token_is_deprecated() -> None:
    token = _token("abc")
    ws = Webservice("http://127.0.0.1:1/score", token_provider=lambda: token)
    with pytest.warns(DeprecationWarning, match="get_access_token"):
        assert ws.get_token() == ("abc", token.refresh_after)
    with pytest.raises(WebserviceException, match="token auth is not configured"):
        Webservice("http://127.0.0.1:1/score").get_access_token()


# --- async -----------------------------------------------------------------------------------


def test_async_run_retries_and_refreshes(server: Any, sleeps: Any) -> None:
    tokens = iter(["a1", "a2"])

    async def provider() -> str:
        return next(tokens)

    server.script(
        server.reply(503, None, {"Retry-After": "3"}),
        server.reply(401),
        server.reply(200, {"ok": "async"}),
    )

    async def main() -> Any:
        async with AsyncWebservice(
            server.url, token_provider=provider, sleep=sleeps.async_sleep, retry=NO_JITTER
        ) as ws:
            return await ws.run({"x": 1})

    assert run_async(main()) == {"ok": "async"}
    assert sleeps.delays == [3.0]
    assert [r.headers["authorization"] for r in server.seen] == [
        "Bearer a1",
        "Bearer a1",
        "Bearer a2",
    ]


def test_async_errors_and_reuse(server: Any, sleeps: Any) -> None:
    server.script(server.reply(200, 1), server.reply(200, 2), server.reply(422, {"message": "no"}))

    async def main() -> tuple[Any, Any, ServiceResponseError]:
        async with AsyncWebservice(server.url, key="k", sleep=sleeps.async_sleep) as ws:
            first = await ws.run("{}")
            second = await ws.run(b"{}")
            try:
                await ws.run("{}")
            except ServiceResponseError as exc:
                return first, second, exc
        raise AssertionError("no error raised")

    first, second, exc = run_async(main())
    assert (first, second) == (1, 2)
    assert exc.status_code == 422 and exc.server_message == "no"
    assert len(server.connections) == 1


def test_async_sync_token_provider_and_deprecated_get_token() -> None:
    token = _token("sync-provided")

    async def main() -> tuple[str, dt.datetime]:
        ws = AsyncWebservice("http://127.0.0.1:1/score", token_provider=lambda: token)
        with pytest.warns(DeprecationWarning):
            return await ws.get_token()

    assert run_async(main()) == ("sync-provided", token.refresh_after)
