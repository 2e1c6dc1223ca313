"""Faster conversion of ``@input_schema`` parameters, giving the objects inference-schema gives.

inference-schema's decorator converts each JSON value inside ``run()``
(``_deserialize_input_argument``), and skips a value that already has the parameter type's
sample type (``isinstance(value, np.ndarray)`` for ``NumpyParameterType``, ``pd.DataFrame`` for
``PandasParameterType``). aksml converts the values first, the same way but faster, and the
decorator then passes them through untouched. A value aksml cannot convert with certainty is
left as it is, so the decorator converts it -- or raises exactly its own error.

What is converted here (everything else is left to inference-schema):

* ``NumpyParameterType`` with a plain dtype (no fields, no datetime/timedelta): inference-schema
  preprocesses each row (a no-op for such dtypes) and calls ``np.array(rows, dtype=...)``; aksml
  calls ``np.array`` directly and applies the same shape rules.
* ``PandasParameterType`` in every orient: inference-schema re-encodes the value with
  ``json.dumps`` and reads it back with ``pd.read_json(orient=..., dtype=False)`` (pandas'
  ujson, whose default float parsing is not correctly rounded, so the text matters). aksml
  encodes with orjson when orjson writes the same numbers as ``json.dumps`` (not for floats
  below 1e-4, nor NaN/Infinity), runs pandas' own ``read_json`` frame parser on it, and caches
  the one slow step -- pandas' attempt to read column labels as numbers or dates -- per
  distinct set of labels that pandas left unchanged. Then the same ``astype`` and shape rules.
* ``StandardPythonParameterType`` whose sample is a dict or list holding the two above: their
  values are converted in place, where inference-schema's recursion would convert them.

Only decorators of inference-schema itself (``input_schema``/``output_schema``), with
``convert_to_provided_type=True`` and ``optional=False``, and the exact parameter classes (not
subclasses, which may override ``deserialize_input``) are handled; a ``run`` wrapped in any
other decorator gets no fast path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import orjson

log = logging.getLogger("aksml.runtime")

_MISS = object()
"""A converter's answer when it leaves the value to inference-schema."""

Converter = Callable[[Any], Any]
AXIS_CACHE_LIMIT = 256
"""Distinct unchanged label sets remembered per process (columns rarely vary)."""
AXIS_LABELS_LIMIT = 1000
"""Longest axis whose unchanged labels are remembered."""


def plan(run: Callable[..., Any]) -> Callable[[dict[str, Any]], None] | None:
    """A function converting run()'s keyword arguments in place ahead of the decorators, or
    None when no parameter can be converted faster."""
    params = _schema_params(run)
    if not params:
        return None
    converters: dict[str, Converter] = {}
    for name, ptype in params.items():
        converter = _converter(ptype)
        if converter is not None:
            converters[name] = converter
    if not converters:
        return None

    def convert(kwargs: dict[str, Any]) -> None:
        for name, converter in converters.items():
            if name in kwargs:
                try:
                    value = converter(kwargs[name])
                except Exception:  # inference-schema converts it again and raises its error
                    log.debug("fast decode of %r declined", name, exc_info=True)
                    continue
                if value is not _MISS:
                    kwargs[name] = value

    return convert


def _schema_params(run: Callable[..., Any]) -> dict[str, Any] | None:
    """Parameter name -> type of every converting ``@input_schema`` on ``run``; None when the
    wrapper chain holds anything but inference-schema's own decorators."""
    from inference_schema import schema_decorators

    params: dict[str, Any] = {}
    seen: set[str] = set()
    func: Any = run
    while True:
        wrapper = getattr(func, "_self_wrapper", None)
        if wrapper is None:
            return params
        if getattr(wrapper, "__module__", None) != schema_decorators.__name__:
            return None
        code = getattr(wrapper, "__code__", None)
        cells = dict(zip(code.co_freevars, wrapper.__closure__ or (), strict=True)) if code else {}
        if not cells:  # output_schema's wrapper: no closure, calls run unchanged
            if wrapper.__qualname__ != "output_schema.<locals>.decorator_input":
                return None
        elif set(cells) != {"convert_to_provided_type", "optional", "param_name", "param_type"}:
            return None
        else:
            name = cells["param_name"].cell_contents
            convert = cells["convert_to_provided_type"].cell_contents
            optional = cells["optional"].cell_contents
            if name in seen:  # declared twice: the outer one would convert first; leave both
                params.pop(name, None)
            elif convert is True and optional is False:
                params[name] = cells["param_type"].cell_contents
            seen.add(name)
        func = getattr(func, "__wrapped__", None)
        if func is None:
            return None


def _converter(ptype: Any) -> Converter | None:
    from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
    from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
    from inference_schema.parameter_types.standard_py_parameter_type import (
        StandardPythonParameterType,
    )

    kind = type(ptype)
    if kind is NumpyParameterType:
        return _numpy_converter(ptype)
    if kind is PandasParameterType:
        return _pandas_converter(ptype)
    if kind is StandardPythonParameterType:
        return _standard_converter(ptype)
    return None


# --- numpy ---------------------------------------------------------------------------------


def _numpy_converter(ptype: Any) -> Converter | None:
    import numpy as np

    dtype = ptype.sample_input.dtype
    if ptype.enforce_column_type and (
        len(dtype) > 0 or dtype.name.lower().startswith(("datetime", "timedelta"))
    ):
        return None  # inference-schema preprocesses these rows: leave them to it
    shape = ptype.sample_input.shape
    enforce_type = ptype.enforce_column_type
    enforce_shape = ptype.enforce_shape

    def convert(value: Any) -> Any:
        if type(value) is not list:
            return _MISS
        array = np.array(value, dtype=dtype) if enforce_type else np.array(value)
        if enforce_shape and (
            array.ndim != len(shape) or array.shape[1:] != shape[1:]  # dimension 0 is free
        ):
            return _MISS
        return array

    return convert


# --- pandas --------------------------------------------------------------------------------


def _pandas_converter(ptype: Any) -> Converter | None:
    import pandas as pd

    if int(pd.__version__.split(".", 1)[0]) not in (2, 3):
        return None  # the parser internals below are those of pandas 2 and 3
    try:
        from pandas._libs import lib
        from pandas.io.json._json import FrameParser
    except ImportError:  # another pandas layout: inference-schema converts
        return None
    if not all(hasattr(FrameParser, m) for m in ("_parse", "_try_convert_data")):
        return None
    sample = ptype.sample_input
    orient = ptype.orient
    sample_types = sample.dtypes.to_dict()
    axes = _AxisCache()

    def read(text: str) -> Any:
        """``pd.read_json(StringIO(text), orient=orient, dtype=False)``, axis checks cached."""
        parser = FrameParser(
            text,
            orient=orient,
            dtype=False,
            convert_axes=orient != "table",
            convert_dates=True,
            keep_default_dates=True,
            precise_float=False,
            date_unit=None,
            dtype_backend=lib.no_default,
        )
        frame = parser._parse()
        if orient != "table":
            frame = axes.convert(parser, frame)
        return _fill_missing(frame)

    records = _RecordsCache() if orient == "records" else None

    def convert(value: Any) -> Any:
        if type(value) is not list and type(value) is not dict:
            return _MISS
        shape = records.shape(value) if records is not None else None
        frame = records.build(shape) if records is not None and shape is not None else None
        if frame is None:
            frame = read(_json_text(value))
            if records is not None and shape is not None:
                records.learn(shape, frame, axes)
        if ptype.apply_column_names:
            frame.columns = sample.columns.copy()
        if ptype.enforce_column_type:
            frame = _astype(frame, {x: sample_types.get(x, object) for x in frame.columns})
        if ptype.enforce_shape and (
            frame.ndim != sample.ndim or frame.shape[1:] != sample.shape[1:]
        ):
            return _MISS
        return frame

    return convert


_EXACT_INT = 2**53
"""Integers below this (in magnitude) convert to float64 exactly and stay int64 in pandas."""


class _RecordsShape:
    """A ``records`` payload reduced to what decides the frame pandas builds from it: the keys
    (every row the same dict keys in the same order), the rows' values by column, and each
    column's value types (one of: all int, all float, ints and floats, all bool, all str)."""

    __slots__ = ("columns", "keys", "kinds", "rows")

    def __init__(
        self, keys: tuple[str, ...], columns: list[list[Any]], kinds: tuple[str, ...]
    ) -> None:
        self.keys = keys
        self.columns = columns
        self.kinds = kinds
        self.rows = len(columns[0])


class _RecordsCache:
    """The ``records`` fast path: frames built column by column, for payload shapes whose
    frame pandas has built before (the first request of each shape takes pandas' own path; its
    column labels and dtypes are remembered). Float columns are still read by pandas' ujson
    (its float parsing is what inference-schema's frames hold)."""

    def __init__(self) -> None:
        self.known: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[Any, list[Any]]] = {}

    def shape(self, rows: Any) -> _RecordsShape | None:
        """The shape of ``rows``, or None when it is not one this path builds."""
        from operator import itemgetter

        if type(rows) is not list or not rows or set(map(type, rows)) != {dict}:
            return None
        first = rows[0].keys()
        # the same key set in every row (pandas orders columns by first appearance: the first
        # row's order, whatever the order in later rows)
        if not all(map(first.__eq__, map(dict.keys, rows))):
            return None
        keys = tuple(first)
        if not keys or set(map(type, keys)) != {str}:
            return None
        columns = [list(map(itemgetter(key), rows)) for key in keys]
        kinds = tuple(_column_kind(column) for column in columns)
        if "" in kinds:
            return None
        return _RecordsShape(keys, columns, kinds)

    def learn(self, shape: _RecordsShape, frame: Any, axes: _AxisCache) -> None:
        """Remember the labels and dtypes pandas gave a frame of this shape (when pandas left
        the labels as they were, so that they did not depend on anything but the keys)."""
        key = _axis_key(frame.columns)
        if key is None or key not in axes.unchanged or len(self.known) >= AXIS_CACHE_LIMIT:
            return
        if list(frame.columns) != list(shape.keys):
            return
        self.known[(shape.keys, shape.kinds)] = (frame.columns, list(frame.dtypes))

    def build(self, shape: _RecordsShape) -> Any:
        """The frame pandas would build, or None for a shape not seen yet."""
        import numpy as np
        import pandas as pd

        known = self.known.get((shape.keys, shape.kinds))
        if known is None:
            return None
        columns, dtypes = known
        arrays = []
        for values, kind, dtype in zip(shape.columns, shape.kinds, dtypes, strict=True):
            if kind in ("float", "number"):
                parsed = _ujson_numbers(values)
                if parsed is None:
                    return None
                arrays.append(np.array(parsed, dtype=dtype))
            elif kind == "str":
                arrays.append(pd.array(values, dtype=dtype))
            else:
                arrays.append(np.array(values, dtype=dtype))
        index = pd.RangeIndex(shape.rows)
        return pd.DataFrame._from_arrays(arrays, columns, index, verify_integrity=False)


def _column_kind(values: list[Any]) -> str:
    """``int``/``float``/``number`` (both)/``bool``/``str``, or "" (any other mix)."""
    kinds = set(map(type, values))
    if kinds == {float}:
        return "float"
    if kinds == {bool}:
        return "bool"
    if kinds == {str}:
        return "str"
    if kinds == {int} or kinds == {int, float}:
        ints = [v for v in values if type(v) is int] if len(kinds) > 1 else values
        if max(ints) < _EXACT_INT and min(ints) > -_EXACT_INT:
            return "int" if len(kinds) == 1 else "number"
    return ""


def _ujson_numbers(values: list[Any]) -> list[Any] | None:
    """``values`` as pandas' ujson reads them from ``json.dumps`` text (None when orjson
    would not write them the same way)."""
    from pandas._libs import _ujson

    raw = orjson.dumps(values)
    if b"e-" in raw or b"0.0000" in raw or b"null" in raw:
        return None
    parsed: list[Any] = _ujson.ujson_loads(raw.decode(), precise_float=False)
    return parsed


def _fill_missing(frame: Any) -> Any:
    """pandas' ``FrameParser._try_convert_types`` with ``dtype=False``: a column holding a
    missing value gets ``fillna(np.nan)``, the rest stay (pandas tests ``all(notna(col))``
    element by element in Python; ``.all()`` gives the same answer at C speed)."""
    import numpy as np
    import pandas as pd

    arrays = []
    for _, series in frame.items():
        if not pd.notna(series).all():
            series = series.fillna(np.nan)
        arrays.append(series.array)
    return pd.DataFrame._from_arrays(arrays, frame.columns, frame.index, verify_integrity=False)


def _astype(frame: Any, types: dict[Any, Any]) -> Any:
    """inference-schema's column typing: timedelta columns through ``pd.to_timedelta``, then
    ``astype(types)`` -- skipped when every column already has its type (same values, and
    ``astype`` of a whole frame costs ~0.5 ms even then)."""
    import pandas as pd

    for name, column_type in types.items():
        if str(column_type).startswith("timedelta"):
            frame[name] = pd.to_timedelta(frame[name])
    if frame.columns.is_unique and all(
        type(have) is type(pd.api.types.pandas_dtype(want)) and have == want
        for have, want in zip(frame.dtypes.tolist(), types.values(), strict=True)
    ):
        return frame
    return frame.astype(dtype=types)


def _json_text(value: Any) -> str:
    """Text whose pandas-ujson reading equals that of ``json.dumps(value)``: orjson's when it
    writes every number as ``json.dumps`` does (it differs only for floats below 1e-4, which
    it writes with ``e-`` and a one-digit exponent or as ``0.0000...``, and for NaN/Infinity,
    which it writes as ``null``)."""
    try:
        raw = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value)
    if b"null" in raw or b"e-" in raw or b"0.0000" in raw:
        return json.dumps(value)
    return raw.decode()


class _AxisCache:
    """pandas' ``Parser._convert_axes``, remembering label sets it left unchanged.

    Reading labels as numbers or dates is the slow part of ``read_json`` (up to three
    ``to_datetime`` attempts per axis); its outcome depends only on the labels, except that a
    time-of-day label reads as today's date -- a changed axis, which is never remembered.
    """

    def __init__(self) -> None:
        self.unchanged: set[Any] = set()

    def convert(self, parser: Any, frame: Any) -> Any:
        import pandas as pd

        for axis_name in frame._AXIS_ORDERS:
            axis = frame._get_axis(axis_name)
            if _range_from_zero(axis):
                continue  # 0..n-1 is never read as dates (below pandas' 31536000 minimum)
            key = _axis_key(axis)
            if key is not None and key in self.unchanged:
                continue
            series = pd.Series(axis, dtype=axis.dtype, copy=False)
            new, changed = parser._try_convert_data(
                name=axis_name, data=series, use_dtypes=False, convert_dates=True, is_axis=True
            )
            if changed:
                setattr(frame, axis_name, pd.Index(new, dtype=new.dtype, copy=False))
            elif key is not None and len(self.unchanged) < AXIS_CACHE_LIMIT:
                self.unchanged.add(key)
        return frame


def _range_from_zero(axis: Any) -> bool:
    import pandas as pd

    return (
        type(axis) is pd.RangeIndex
        and axis.start == 0
        and axis.step == 1
        and len(axis) < parser_min_stamp()
    )


def parser_min_stamp() -> int:
    """pandas' smallest number read as an epoch timestamp (seconds)."""
    from pandas.io.json._json import Parser

    return int(Parser._MIN_STAMPS["s"])


def _axis_key(axis: Any) -> Any:
    """A hashable key for a short all-string axis (None otherwise: always checked)."""
    if len(axis) > AXIS_LABELS_LIMIT:
        return None
    labels = axis.tolist()
    if not all(type(label) is str for label in labels):
        return None
    return (str(axis.dtype), axis.name, tuple(labels))


# --- standard python (nested) ----------------------------------------------------------------


def _standard_converter(ptype: Any) -> Converter | None:
    if ptype.sample_data_type is dict:
        inner = {k: _converter(v) for k, v in ptype.sample_data_type_map.items()}
        members = {k: conv for k, conv in inner.items() if conv is not None}
        if not members:
            return None

        def convert_dict(value: Any) -> Any:
            if type(value) is dict:
                for key, conv in members.items():
                    if key in value:
                        _convert_member(value, key, conv)
            return _MISS  # converted in place; the decorator's recursion passes them through

        return convert_dict
    if ptype.sample_data_type in (list, tuple) and ptype.sample_data_type_list:
        conv = _converter(ptype.sample_data_type_list[0])
        if conv is None:
            return None

        def convert_list(value: Any) -> Any:
            if type(value) is list:
                for index in range(len(value)):
                    _convert_member(value, index, conv)
            return _MISS

        return convert_list
    return None


def _convert_member(container: Any, key: Any, conv: Converter) -> None:
    try:
        value = conv(container[key])
    except Exception:  # left for inference-schema, which raises its own error
        return
    if value is not _MISS:
        container[key] = value
