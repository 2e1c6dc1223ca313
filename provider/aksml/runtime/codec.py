"""JSON for request bodies and run() results: ``orjson`` where it gives the same JSON value as the
standard library (what azureml-inference-server-http 1.5.1 uses), the standard library wherever
it might not.

The reference parses a body with ``json.loads`` and encodes run()'s value with ``json.dumps``
(default arguments). ``orjson`` is 3-20x faster on numeric payloads but differs in a few places,
each handled here by falling back to the standard library:

* parsing: ``NaN``/``Infinity`` literals, numbers overflowing a double, lone surrogates, a BOM
  or UTF-16/32 bodies, nesting deeper than 1,024 -- orjson refuses them (we then parse with
  ``json``); integers outside the 64-bit range -- orjson silently turns them into floats, so a
  body holding a run of 19 or more digits is parsed with ``json`` (Python ints are unbounded).
* encoding: anything that is not exactly a ``dict``/``list``/``tuple``/``str``/``int``/
  ``float``/``bool``/``None`` tree (numpy scalars, subclasses such as ``IntEnum`` or named
  tuples, ``uuid``/``datetime``/``enum``/dataclass values that orjson would encode but
  ``json.dumps`` refuses), integers outside 64 bits, non-string dict keys, and a result holding
  ``null`` (orjson writes NaN and Infinity as ``null``; ``json.dumps`` writes ``NaN``).

Where the bytes still differ, the JSON value does not: orjson writes non-ASCII text as UTF-8
where ``json.dumps`` writes ``\\uXXXX`` escapes, leaves out the spaces after ``,`` and ``:``,
and writes some floats differently (``1e-05`` vs ``0.00001``). See ``docs/runtime.md``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_SCALARS = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = frozenset({list, tuple, dict})
MAX_DEPTH = 200
"""Deepest result tree encoded by orjson (its own limit is 254); deeper goes to ``json``."""
BIG_INT_DIGITS = 19
"""A run of this many digits may be an integer outside 64 bits (orjson would make it a float)."""


_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_SMALL_BODY = 8192
"""Below this many bytes a translate-and-find beats numpy's fixed overhead."""


def has_digit_run(body: bytes, length: int = BIG_INT_DIGITS) -> bool:
    """Whether ``body`` holds ``length`` or more consecutive ASCII digits."""
    if len(body) < length:
        return False
    if len(body) < _SMALL_BODY:
        return body.translate(_DIGITS_TO_ZERO).find(b"0" * length) >= 0
    import numpy as np  # only for large bodies (the trivial path never loads numpy)

    raw = np.frombuffer(body, np.uint8)
    run = (raw - 48) < 10  # uint8 wraps: True exactly for b"0"-b"9"
    width = 1  # run[i]: the `width` bytes from i are all digits
    while width * 2 <= length:
        run = run[:-width] & run[width:]
        width *= 2
    if width < length:
        run = run[: width - length] & run[length - width :]
    return bool(run.any())


def loads(body: bytes) -> Any:
    """``json.loads(body)``'s value and errors, computed with orjson when that is the same."""
    if not has_digit_run(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # json decides: it accepts more (NaN, BOM, UTF-16, ...) and words its errors
    return json.loads(body)


def dumps(value: Any) -> bytes:
    """``json.dumps(value).encode()``'s JSON value (bytes may differ as described above);
    raises TypeError/ValueError exactly when ``json.dumps`` does."""
    if _plain(value, 0):
        try:
            out = orjson.dumps(value)
        except orjson.JSONEncodeError:
            pass  # big int, non-str key, too deep: json decides
        else:
            if b"null" not in out:
                return out
            # null: None, or NaN/Infinity that json writes as NaN/Infinity; json decides
    return json.dumps(value).encode()


def _plain(value: Any, depth: int) -> bool:
    """Whether ``value`` is a tree of exactly the JSON types (no subclasses)."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind not in _CONTAINERS or depth > MAX_DEPTH:
        return False
    items = value.values() if kind is dict else value
    kinds = set(map(type, items))
    if kinds <= _SCALARS:
        return True
    if not kinds <= _SCALARS | _CONTAINERS:
        return False
    return all(type(item) in _SCALARS or _plain(item, depth + 1) for item in items)
