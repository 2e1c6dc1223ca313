"""RetryPolicy and Retry-After parsing (pure)."""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aksml.client import AsyncWebservice, RetryPolicy, parse_retry_after
from aksml.errors import WebserviceException


@given(
    retry_index=st.integers(min_value=0, max_value=40),
    backoff=st.floats(min_value=0, max_value=10),
    max_backoff=st.floats(min_value=0, max_value=60),
    jitter=st.floats(min_value=0, max_value=1),
    rand=st.floats(min_value=0, max_value=1),
)
def test_backoff_stays_in_bounds(
    retry_index: int, backoff: float, max_backoff: float, jitter: float, rand: float
) -> None:
    policy = RetryPolicy(backoff=backoff, max_backoff=max_backoff, jitter=jitter)
    base = min(backoff * 2.0**retry_index, max_backoff)
    delay = policy.delay(retry_index, None, lambda: rand)
    assert (1 - jitter) * base - 1e-9 <= delay <= base + 1e-9


@given(st.floats(min_value=-5, max_value=10_000), st.floats(min_value=0, max_value=300))
def test_retry_after_wins_and_is_capped(retry_after: float, cap: float) -> None:
    delay = RetryPolicy(max_retry_after=cap).delay(0, retry_after)
    assert delay == min(max(retry_after, 0.0), cap)


def test_parse_retry_after() -> None:
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=30), usegmt=True)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(later, now=now) == 30.0
    earlier = email.utils.format_datetime(now - dt.timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None


@pytest.mark.parametrize(
    "kwargs", [{"retries": -1}, {"backoff": -0.1}, {"jitter": 1.5}, {"max_retry_after": -1}]
)
def test_invalid_policies(kwargs: dict[str, float]) -> None:
    with pytest.raises(WebserviceException, match="Invalid configuration"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_async_client_from_stack_outputs() -> None:
    ws = AsyncWebservice.from_stack_outputs(
        {"svc": {"scoringUri": "http://127.0.0.1:1/api/v1/service/svc/score", "primaryKey": "p"}}
    )
    assert isinstance(ws, AsyncWebservice)
    assert ws.get_keys() == ("p", None)
    assert ws.swagger_uri == "http://127.0.0.1:1/api/v1/service/svc/swagger.json"
