"""Property-based differential tests: aksml's fast parameter decoding (``aksml.runtime.codec`` +
``aksml.runtime.fastdecode``) against inference-schema itself, over random schemas and random
payloads (wrong shapes, missing and extra columns, mixed types, empty inputs).

For each case a decorated ``run`` returning its argument is called twice: with the body parsed
by ``json.loads`` and converted by inference-schema alone (what azureml-inference-server-http
does), and with the body parsed by ``codec.loads`` and converted by the fast path first. Both
must give identical objects (type, dtype, shape, values, column order and labels, index), or
raise the same exception type with the same message.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import (
    StandardPythonParameterType,
)
from inference_schema.schema_decorators import input_schema, output_schema

from aksml.runtime import codec, fastdecode

SETTINGS = settings(
    max_examples=150,
    deadline=None,  # never a wall-clock threshold in a unit test
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_NAMES = itertools.count()
ORIENTS = ("records", "split", "index", "columns", "values", "table")


def decorated(ptype: Any, *, optional: bool = False) -> Callable[..., Any]:
    """A score.py-style ``run(data)`` returning its (converted) argument."""

    def run(data: Any) -> Any:
        return data

    # inference-schema keeps schemas per qualified name: one name per decorated function
    run.__name__ = f"run_{next(_NAMES)}"
    wrapped: Callable[..., Any] = output_schema(StandardPythonParameterType({"ok": True}))(run)
    return input_schema("data", ptype, optional=optional)(wrapped)  # type: ignore[no-any-return]


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """('ok', value) or ('error', (exception type, message))."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", call()
        except Exception as exc:
            return "error", (type(exc).__name__, str(exc))


def reference(run: Callable[..., Any], text: str) -> tuple[str, Any]:
    """inference-schema alone, on ``json.loads`` (the reference server's path)."""
    return outcome(lambda: run(data=json.loads(text)["data"]))


def fast(run: Callable[..., Any], text: str) -> tuple[str, Any]:
    """aksml: ``codec.loads``, the fast converter, then the same decorator -- twice, so that the
    second call goes through the converter's caches."""
    convert = fastdecode.plan(run)

    def call() -> Any:
        kwargs = {"data": codec.loads(text.encode())["data"]}
        if convert is not None:
            convert(kwargs)
        return run(**kwargs)

    first = outcome(call)
    assert_same(first, outcome(call))
    return first


def check_case(case: tuple[Any, str]) -> None:
    """A (parameter type, body) case: the fast path's outcome equals inference-schema's."""
    ptype, text = case
    run = decorated(ptype)
    assert_same(reference(run, text), fast(run, text))


def assert_same(expected: tuple[str, Any], actual: tuple[str, Any]) -> None:
    """Identical outcomes (objects compared strictly, by type)."""
    assert expected[0] == actual[0], (expected, actual)
    if expected[0] == "error":
        assert expected[1] == actual[1]
        return
    assert_identical(expected[1], actual[1])


def assert_identical(a: Any, b: Any) -> None:
    """Same type, and for numpy/pandas the same dtype, shape, labels and values."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype.kind == "O":
            for x, y in zip(a.ravel().tolist(), b.ravel().tolist(), strict=True):
                assert_identical(x, y)
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_column_type=True)
        assert [type(c) for c in a.columns] == [type(c) for c in b.columns]
        assert list(a.dtypes) == list(b.dtypes)
        pd.testing.assert_index_equal(a.index, b.index, exact=True)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_identical(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_identical(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


# --- payload building blocks -----------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
scalars = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-1000, 1000),
    finite,
    st.floats(min_value=-1e3, max_value=1e3).map(lambda x: round(x, 3)),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.sampled_from(["1", "2.5", "2020-01-01", "é", "\U0001f600", "true", "NaN"]),
)
numeric = st.one_of(
    st.integers(-1000, 1000),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda x: round(x, 4)),
    finite,
)


def body(value: Any, *, special: str | None = None) -> str:
    """The request body ``{"data": value}`` (json.dumps writes NaN/Infinity literals too)."""
    text = json.dumps({"data": value})
    return text if special is None else text.replace('"@special@"', special)


# --- numpy -----------------------------------------------------------------------------------

DTYPES = ["float64", "float32", "int64", "int32", "uint8", "bool", "object", "<U4"]


@st.composite
def numpy_case(draw: st.DrawFn) -> tuple[Any, str]:
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    ptype = NumpyParameterType(
        np.zeros(shape, dtype=dtype),
        enforce_column_type=draw(st.booleans()),
        enforce_shape=draw(st.booleans()),
    )
    # payload: usually the right inner shape (maybe another row count), sometimes not
    inner = shape[1:] if draw(st.integers(0, 4)) else tuple(draw(st.lists(st.integers(0, 3))))
    rows = draw(st.integers(0, 4))
    elements = numeric if draw(st.integers(0, 3)) else scalars

    def nested(dims: tuple[int, ...]) -> Any:
        if not dims:
            return draw(elements)
        return [nested(dims[1:]) for _ in range(dims[0])]

    value: Any = nested((rows, *inner))
    if draw(st.integers(0, 9)) == 0:
        value = draw(st.one_of(scalars, st.dictionaries(st.text(max_size=2), scalars)))
    return ptype, body(value)


@SETTINGS
@given(numpy_case())
def test_numpy_matches_inference_schema(case: tuple[Any, str]) -> None:
    check_case(case)


@pytest.mark.parametrize(
    "literal",
    ["NaN", "Infinity", "-Infinity", "1e400", "123456789012345678901234567890", "-0.0"],
)
def test_numpy_special_numbers(literal: str) -> None:
    """Literals orjson refuses or would change: parsed like json.loads, converted the same."""
    for dtype in ("float64", "object", "int64"):
        run = decorated(NumpyParameterType(np.zeros((1, 2), dtype=dtype)))
        text = body([[1, "@special@"]], special=literal)
        assert_same(reference(run, text), fast(run, text))


# --- pandas ----------------------------------------------------------------------------------

COLUMN_KINDS = {
    "int": (st.integers(-1000, 1000), "int64"),
    "float": (numeric, "float64"),
    "bool": (st.booleans(), "bool"),
    "str": (st.text(max_size=4), None),
    "obj": (scalars, None),
}
COLUMN_NAMES = ["a", "b", "price", "1", "2", "2020-01-01", "date", "created_at", "Jan", "x y"]


@st.composite
def pandas_case(draw: st.DrawFn) -> tuple[Any, str]:
    names = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=4, unique=True))
    kinds = [draw(st.sampled_from(sorted(COLUMN_KINDS))) for _ in names]
    sample_rows = draw(st.integers(1, 3))
    sample = pd.DataFrame(
        {
            n: [draw(COLUMN_KINDS[k][0]) for _ in range(sample_rows)]
            for n, k in zip(names, kinds, strict=True)
        }
    )
    for n, k in zip(names, kinds, strict=True):
        if COLUMN_KINDS[k][1]:
            sample[n] = sample[n].astype(COLUMN_KINDS[k][1])
    orient = draw(st.sampled_from(ORIENTS))
    try:
        ptype = PandasParameterType(
            sample,
            enforce_column_type=draw(st.booleans()),
            enforce_shape=draw(st.booleans()),
            orient=orient,
        )
        ptype.input_to_swagger()
    except Exception:
        assume(False)
    # payload columns: the sample's, maybe one missing, maybe one extra, maybe mixed types
    payload_names = list(names)
    if draw(st.booleans()) and len(payload_names) > 1:
        payload_names.pop(draw(st.integers(0, len(payload_names) - 1)))
    if draw(st.integers(0, 3)) == 0:
        payload_names.append(draw(st.sampled_from(["extra", "3", "z"])))
    mixed = draw(st.integers(0, 4)) == 0
    rows = draw(st.integers(0, 5))
    data = {}
    for n in payload_names:
        kind = kinds[names.index(n)] if n in names else "obj"
        strategy = scalars if mixed else COLUMN_KINDS[kind][0]
        data[n] = [draw(strategy) for _ in range(rows)]
    frame = pd.DataFrame(data)
    try:
        value = json.loads(frame.to_json(orient=orient, date_format="iso"))
    except Exception:
        assume(False)
    if draw(st.integers(0, 9)) == 0:  # not a frame at all / a different orient's shape
        value = draw(
            st.one_of(scalars, st.just([]), st.just({}), st.just([[1, 2], [3]]), st.just([1]))
        )
    return ptype, body(value)


@SETTINGS
@given(pandas_case())
def test_pandas_matches_inference_schema(case: tuple[Any, str]) -> None:
    check_case(case)


@pytest.mark.parametrize("orient", ORIENTS)
def test_pandas_each_orient_uses_the_fast_path(orient: str) -> None:
    """Not a fallback in disguise: the converter itself returns the frame for a good payload."""
    sample = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5], "c": ["x", "y"], "d": [True, False]})
    ptype = PandasParameterType(sample, orient=orient)
    text = body(json.loads(sample.to_json(orient=orient)))
    run = decorated(ptype)
    convert = fastdecode.plan(run)
    assert convert is not None
    kwargs = {"data": codec.loads(text.encode())["data"]}
    convert(kwargs)
    assert isinstance(kwargs["data"], pd.DataFrame)
    assert_same(reference(run, text), fast(run, text))


def test_pandas_float_text_matters() -> None:
    """pandas' ujson reads floats below 1e-4 differently depending on how they are written;
    the fast path writes them as json.dumps does."""
    values = [9.265066237858661e-05, 6.744858305023273e-08, 0.1 + 0.2, 1e16, 5e-324]
    ptype = PandasParameterType(pd.DataFrame({"v": [0.5]}))
    text = body([{"v": v} for v in values])
    run = decorated(ptype)
    assert_same(reference(run, text), fast(run, text))


# --- standard python, nested -------------------------------------------------------------------


@st.composite
def nested_case(draw: st.DrawFn) -> tuple[Any, str]:
    array = NumpyParameterType(np.zeros((2, 2)))
    frame = PandasParameterType(pd.DataFrame({"a": [1], "b": [0.5]}))
    leaf = st.one_of(
        st.lists(st.lists(numeric, min_size=2, max_size=2), max_size=3),
        st.lists(st.lists(numeric, max_size=3), max_size=3),
        st.lists(st.fixed_dictionaries({"a": st.integers(0, 9), "b": numeric}), max_size=3),
        scalars,
    )
    if draw(st.booleans()):
        ptype = StandardPythonParameterType(
            {"x": array, "f": frame, "n": StandardPythonParameterType(1.0)}
        )
        value: Any = draw(
            st.one_of(
                st.fixed_dictionaries(
                    {"x": leaf, "f": leaf}, optional={"n": numeric, "extra": scalars}
                ),
                scalars,
            )
        )
    else:
        ptype = StandardPythonParameterType([array])
        value = draw(st.one_of(st.lists(leaf, max_size=3), scalars))
    return ptype, body(value)


@SETTINGS
@given(nested_case())
def test_nested_standard_matches_inference_schema(case: tuple[Any, str]) -> None:
    check_case(case)


def test_optional_and_subclassed_types_are_left_to_inference_schema() -> None:
    """optional=True tests the raw value's truth; a subclass may override deserialize_input."""

    class Custom(NumpyParameterType):
        def deserialize_input(self, input_data: Any) -> Any:
            return "custom"

    assert fastdecode.plan(decorated(NumpyParameterType(np.zeros((1, 2))), optional=True)) is None
    assert fastdecode.plan(decorated(Custom(np.zeros((1, 2))))) is None
    run = decorated(Custom(np.zeros((1, 2))))
    assert run(data=[[1, 2]]) == "custom"


def test_other_decorators_disable_the_fast_path() -> None:
    import wrapt

    @wrapt.decorator
    def logged(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return wrapped(*args, **kwargs)

    @logged
    @input_schema("data", NumpyParameterType(np.zeros((1, 2))))
    def run(data: Any) -> Any:
        return data

    assert fastdecode.plan(run) is None


def test_input_objects_are_not_copied_twice() -> None:
    """The decorator passes a fast-converted array through as the same object."""
    run = decorated(NumpyParameterType(np.zeros((2, 3))))
    convert = fastdecode.plan(run)
    assert convert is not None
    kwargs: dict[str, Any] = {"data": [[1, 2, 3]]}
    convert(kwargs)
    converted = kwargs["data"]
    assert run(**copy.copy(kwargs)) is converted


RECORD_VALUES = {
    "int": st.integers(-(2**40), 2**40),
    "float": st.one_of(numeric, finite),
    "number": st.one_of(st.integers(-1000, 1000), numeric),
    "bool": st.booleans(),
    "str": st.text(max_size=6),
    "mixed": scalars,
}


@st.composite
def records_case(draw: st.DrawFn) -> tuple[Any, list[str]]:
    """A records-orient schema and several payloads of one shape (same keys, same value
    types per column): the first teaches the fast path, the others take it."""
    names = draw(st.lists(st.sampled_from(COLUMN_NAMES), min_size=1, max_size=4, unique=True))
    kinds = [draw(st.sampled_from(sorted(RECORD_VALUES))) for _ in names]
    sample_kind = {"int": "int64", "float": "float64", "bool": "bool"}
    sample = pd.DataFrame({n: [draw(RECORD_VALUES[k])] for n, k in zip(names, kinds, strict=True)})
    for n, k in zip(names, kinds, strict=True):
        if k in sample_kind:
            sample[n] = sample[n].astype(sample_kind[k])
    ptype = PandasParameterType(
        sample, enforce_column_type=draw(st.booleans()), enforce_shape=draw(st.booleans())
    )
    bodies = []
    for _ in range(3):
        rows = draw(st.integers(1, 12))
        value = []
        for _ in range(rows):  # keys in any order: pandas orders columns by first appearance
            order = draw(st.permutations(range(len(names))))
            value.append({names[i]: draw(RECORD_VALUES[kinds[i]]) for i in order})
        bodies.append(body(value))
    return ptype, bodies


@settings(SETTINGS, max_examples=300)
@given(records_case())
def test_pandas_records_fast_path_matches_inference_schema(case: tuple[Any, list[str]]) -> None:
    """One converter across requests, as in the server: learned shapes are built column by
    column; every outcome equals inference-schema's."""
    ptype, bodies = case
    run = decorated(ptype)
    convert = fastdecode.plan(run)
    assert convert is not None
    for text in bodies:

        def call(text: str = text) -> Any:
            kwargs = {"data": codec.loads(text.encode())["data"]}
            convert(kwargs)
            return run(**kwargs)

        assert_same(reference(run, text), outcome(call))
