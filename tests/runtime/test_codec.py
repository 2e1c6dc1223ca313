"""``aksml.runtime.codec`` against the standard library it replaces: ``loads`` gives
``json.loads``' value (or its error), ``dumps`` gives ``json.dumps``' JSON value (or raises
where it raises)."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import re
import uuid
from collections import OrderedDict, namedtuple
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aksml.runtime import codec

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),  # unbounded: beyond 64 bits too
        st.floats(),  # NaN and infinities too
        st.text(),
    ),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


def same(a: Any, b: Any) -> bool:
    """Equal JSON values (NaN equal to NaN, int 1 not equal to float 1.0)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


@SETTINGS
@given(json_values, st.sampled_from([{}, {"indent": 1}, {"ensure_ascii": False}]))
def test_loads_equals_json_loads(value: Any, style: dict[str, Any]) -> None:
    text = json.dumps(value, **style)
    for body in (text.encode(), text.encode() * 1 + b" " * 9000):  # small and large bodies
        assert same(codec.loads(body), json.loads(body))


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[1,]", b"NaN", b'"\\ud800"', b"\xef\xbb\xbf{}", b"\xff", b"[" * 3000],
)
def test_loads_errors_are_json_loads_errors(body: bytes) -> None:
    try:
        expected: Any = json.loads(body)
    except (ValueError, RecursionError) as exc:
        with pytest.raises(type(exc)) as got:
            codec.loads(body)
        assert str(got.value) == str(exc)
    else:
        assert same(codec.loads(body), expected)


@SETTINGS
@given(json_values)
def test_dumps_gives_json_dumps_value(value: Any) -> None:
    assert same(json.loads(codec.dumps(value)), json.loads(json.dumps(value)))


class Colour(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int


Pair = namedtuple("Pair", "a b")


@pytest.mark.parametrize(
    "value",
    [
        [float("nan"), float("inf"), -float("inf")],
        {"big": 2**64, "small": -(2**63) - 1},
        {1: "a", 2.5: "b", None: "c", False: "d"},
        np.float64(1.5),
        [np.float64(2.5)],
        Level.HIGH,
        Pair(1, [2]),
        OrderedDict(a=1),
        ("t", 1),
        "é☃\U0001f600",
        [[1.0] * 3] * 3,
    ],
)
def test_dumps_of_values_orjson_would_write_differently(value: Any) -> None:
    assert same(json.loads(codec.dumps(value)), json.loads(json.dumps(value)))


@pytest.mark.parametrize(
    "value",
    [
        np.int64(3),
        np.array([1.0]),
        uuid.UUID(int=1),
        datetime.date(2020, 1, 1),
        Colour.RED,
        Point(1),
        {"a": {1, 2}},
        b"bytes",
    ],
)
def test_dumps_refuses_what_json_dumps_refuses(value: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        codec.dumps(value)


def test_dumps_circular_is_a_value_error() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError):
        codec.dumps(loop)


@SETTINGS
@given(st.binary(max_size=200), st.integers(0, 12000))
def test_digit_run_detection(chunk: bytes, padding: int) -> None:
    digits = chunk.translate(bytes.maketrans(b"abcdefghij", b"0123456789"))
    for body in (digits, b"x" * padding + digits, digits + b"1" * (padding % 40)):
        expected = re.search(rb"[0-9]{19}", body) is not None
        assert codec.has_digit_run(body) == expected
