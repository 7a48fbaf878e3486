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
