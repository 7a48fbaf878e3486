"""Comparing a returned value with an example's expected value (runs in the sandbox child: stdlib only)."""

from __future__ import annotations

import math
import numbers
from typing import Any


def values_match(actual: Any, expected: Any) -> bool:
    """Whether a returned value equals a docstring's expected value; never raises.

    Exact equality, except: a bool only matches a bool (True is not 1 here); ints and floats compare
    numerically; a list and a tuple match element-wise (docstrings are loose about which they
    write); dicts and sets compare by keys/elements under the same rules; NaN matches NaN. A float
    matches within ``isclose(rel_tol=1e-6)``, or within half a unit of the last decimal the
    expected float shows (``0.33`` accepts 0.333...; the digits are those of ``repr(expected)``),
    because docstrings print rounded floats: leniency can only let a wrong line through, never
    reject a right one.
    """
    try:
        return _match(actual, expected, 0)
    except Exception:
        return False


def _match(a: Any, e: Any, depth: int) -> bool:
    if depth > 50:
        return False
    if isinstance(a, bool) or isinstance(e, bool):
        return type(a) is bool and type(e) is bool and a == e
    if isinstance(a, numbers.Real) and isinstance(e, numbers.Real):
        return _numbers_match(a, e)
    if isinstance(a, (list, tuple)) and isinstance(e, (list, tuple)):
        return len(a) == len(e) and all(_match(x, y, depth + 1) for x, y in zip(a, e))
    if isinstance(a, dict) and isinstance(e, dict):
        return len(a) == len(e) and all(k in a and _match(a[k], v, depth + 1) for k, v in e.items())
    if isinstance(a, (set, frozenset)) and isinstance(e, (set, frozenset)):
        rest = list(a)
        for y in e:
            hit = next((i for i, x in enumerate(rest) if _match(x, y, depth + 1)), None)
            if hit is None:
                return False
            rest.pop(hit)
        return not rest
    if a is None or e is None:
        return a is None and e is None
    return type(a) is type(e) and bool(a == e)


def _numbers_match(actual: numbers.Real, expected: numbers.Real) -> bool:
    if isinstance(actual, numbers.Integral) and isinstance(expected, numbers.Integral):
        return int(actual) == int(expected)
    a, e = float(actual), float(expected)
    if math.isnan(a) or math.isnan(e):
        return math.isnan(a) and math.isnan(e)
    if math.isinf(a) or math.isinf(e):
        return a == e
    if math.isclose(a, e, rel_tol=1e-6, abs_tol=1e-9):
        return True
    shown = repr(e)
    if isinstance(expected, numbers.Integral) or "e" in shown or "." not in shown:
        return False
    return abs(a - e) <= 0.5 * 10.0 ** -len(shown.split(".")[1]) * (1 + 1e-9)


# The observed value crosses from the sandbox child to the trusted side, which compares it with
# the expected literal itself (a child's own "it matched" is not evidence). Tagged JSON keeps what
# `values_match` looks at: exact types of containers, numbers by value, anything else opaque.
_NODE_BUDGET = 100_000


class Opaque:
    """A value of a type no docstring literal has (or too large to send): it matches nothing."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def encode_value(value: Any) -> Any:
    """`value` as tagged JSON (see `decode_value`); never raises."""
    budget = [_NODE_BUDGET]
    try:
        return _encode(value, 0, budget)
    except Exception:
        return {"O": "unencodable"}


def _encode(v: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > 50:
        return {"O": "too large"}
    if v is None or type(v) in (bool, str):
        return v
    if isinstance(v, bool):
        return {"O": type(v).__name__}
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    kinds = ((list, "L"), (tuple, "T"), (set, "S"), (frozenset, "F"))
    for kind, tag in kinds:
        if isinstance(v, kind):
            return {tag: [_encode(x, depth + 1, budget) for x in v]}
    if isinstance(v, dict):
        return {"D": [[_encode(k, depth + 1, budget), _encode(x, depth + 1, budget)] for k, x in v.items()]}
    if type(v) is bytes:
        return {"B": v.hex()}
    if type(v) is complex:
        return {"C": [v.real, v.imag]}
    return {"O": type(v).__name__}


def decode_value(data: Any) -> Any:
    """The value `encode_value` sent; raises ValueError on anything it would not have sent."""
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("not an encoded value")
    ((tag, body),) = data.items()
    if tag == "O":
        return Opaque(str(body))
    if tag == "B":
        return bytes.fromhex(body)
    if tag == "C":
        return complex(*body)
    if tag == "D":
        return {_key(decode_value(k)): decode_value(x) for k, x in body}
    items = [decode_value(x) for x in body]
    makers = {"L": list, "T": tuple, "S": lambda xs: set(map(_key, xs)), "F": lambda xs: frozenset(map(_key, xs))}
    if tag not in makers:
        raise ValueError(f"unknown tag {tag!r}")
    return makers[tag](items)


def _key(value: Any) -> Any:
    """Hashable form of a decoded element (a set or dict key can only have been hashable)."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, set):
        return frozenset(value)
    return value
