"""(In the sandbox child.) How HumanEval+ and MBPP+ judge a solution, following evalplus's rules.

evalplus scores differentially: the canonical solution (`prompt + canonical_solution`, without the
row's `contract`) is run on every base and plus input, its outputs and times recorded, then the
solution is run on the same inputs and each output compared with the canonical one. The published
asserts (`test`, `test_list`, `assertion`) are not run at all. The rules kept here, each with a test
in tests/engine/datasets/test_plus_rules.py:

- MBPP+ stores some inputs as JSON lists that the canonical solution reads as tuples, sets or complex
  numbers: `mbpp_inputs` rebuilds them per task number, as evalplus does when it loads MBPP+.
- A handful of MBPP+ tasks return values that are compared loosely: as sets, or only as "not None".
- A few tasks have their own oracle (`find_zero` checks the root; `are_equivalent`, `sum_div`,
  `surface_Area`, `digit_distance_nums` accept another answer).
- Floats: an expected float (or a list of floats) gets `atol = 1e-6` when the task sets none; then
  the types and lengths must agree and the values be close (numpy's `allclose`, rtol 1e-7). As in
  evalplus, once set the tolerance stays for the rest of that input group.
- Time: each input gets `max(1.0 s, 4 x the canonical solution's time on it)`, and each group (base,
  plus) at most `min(60 s, the sum of those) + 2 s` in all.

Only the standard library is required (numpy is used when installed, for the exact `allclose`).
"""

from __future__ import annotations

import contextlib
import copy
import math
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

MIN_TIME_LIMIT_S = 1.0
TIME_LIMIT_FACTOR = 4.0
GROUP_TIMEOUT_CAP_S = 60.0
GROUP_TIMEOUT_SLACK_S = 2.0

# MBPP+ entry points whose output counts only as "returned something" (re.Match objects and the like).
MBPP_NOT_NONE = frozenset({"check_str", "text_match_three", "text_starta_endb"})
# MBPP+ entry points whose output is compared as a set (order and repeats do not matter).
MBPP_SET_EQUAL = frozenset(
    {
        "similar_elements",
        "find_char_long",
        "common_in_nested_lists",
        "extract_singly",
        "larg_nnum",
        "intersection_array",
        "find_dissimilar",
        "Diff",
    }
)


# --- MBPP+ input types --------------------------------------------------------------------------
# JSON has no tuple, set or complex: MBPP+ stores them as lists and strings, and the canonical
# solutions of these tasks expect the real types back. Keyed by the number in "Mbpp/<n>".


def _tuple_each_arg(inp: list[Any]) -> list[Any]:
    return [tuple(arg) for arg in inp]


def _tuple_items_of_each_arg(inp: list[Any]) -> list[Any]:
    return [[tuple(item) for item in arg] for arg in inp]


def _first_arg_items_tuples(inp: list[Any]) -> list[Any]:
    return [[tuple(item) for item in inp[0]], inp[1]]


def _second_arg_tuple(inp: list[Any]) -> list[Any]:
    return [inp[0], tuple(inp[1])]


def _first_arg_tuple(inp: list[Any]) -> list[Any]:
    return [tuple(inp[0]), *inp[1:2]]


def _tuples_of_tuples(inp: list[Any]) -> list[Any]:
    return [tuple(tuple(item) for item in arg) for arg in inp]


def _sets_or_empty_dict(inp: list[Any]) -> list[Any]:
    # evalplus's own reading: an empty member becomes `{}` (a dict), not an empty set.
    return [[set(item) if isinstance(item, list) and item else {} for item in inp[0]]]


def _float_and_complex(inp: list[Any]) -> tuple[Any, ...]:
    return (float(inp[0]), complex(inp[1]))


def _mixed_items_then_tuple(inp: list[Any]) -> list[Any]:
    return [tuple(tuple(item) if isinstance(item, list) else item for item in inp[0])]


def _first_arg_tuple_three(inp: list[Any]) -> list[Any]:
    return [tuple(inp[0]), inp[1], inp[2]]


def _dict_values_tuples(inp: list[Any]) -> list[Any]:
    return [{key: tuple(value) for key, value in inp[0].items()}, *inp[1:]]


def _complex_arg(inp: list[Any]) -> list[Any]:
    return [complex(inp[0])]


def _all_tuples(value: Any) -> Any:
    return tuple(_all_tuples(item) for item in value) if isinstance(value, list) else value


_MBPP_INPUT_SHAPES: dict[Callable[[list[Any]], Any], tuple[int, ...]] = {
    _tuple_each_arg: (2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630)
    + (726, 740, 744, 809),
    _tuple_items_of_each_arg: (63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780),
    _first_arg_items_tuples: (75, 413, 444, 753),
    _second_arg_tuple: (106, 750),
    _sets_or_empty_dict: (115,),
    _float_and_complex: (124,),
    _first_arg_tuple: (250, 405, 446, 617, 720, 763, 808),
    _tuples_of_tuples: (259, 401, 445),
    _mixed_items_then_tuple: (278,),
    _first_arg_tuple_three: (307,),
    _dict_values_tuples: (722,),
    _complex_arg: (252,),
    _all_tuples: (580, 615, 791),
}
_MBPP_SHAPE_OF: dict[int, Callable[[list[Any]], Any]] = {n: f for f, ns in _MBPP_INPUT_SHAPES.items() for n in ns}


def mbpp_inputs(task_id: str, inputs: list[Any]) -> list[Any]:
    """The MBPP+ inputs of `task_id` with the tuples, sets and complex numbers JSON could not hold."""
    try:
        number = int(str(task_id).rsplit("/", 1)[-1])
    except ValueError:
        return inputs
    shape = _MBPP_SHAPE_OF.get(number)
    return inputs if shape is None else [shape(inp) for inp in inputs]


# --- comparing one output -----------------------------------------------------------------------


def is_floats(value: Any) -> bool:
    """A float, or a non-empty list or tuple of floats (or a float numpy array)."""
    if isinstance(value, float):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(item, float) for item in value)
    dtype = getattr(value, "dtype", None)
    return dtype is not None and str(dtype) in ("float64", "float32")


def allclose(actual: Any, expected: Any, atol: float, rtol: float = 1e-7) -> bool:
    """numpy's `allclose` when numpy is here; otherwise the same test on scalars and flat sequences."""
    try:
        import numpy
    except ImportError:
        numpy = None
    if numpy is not None:
        return bool(numpy.allclose(actual, expected, rtol=rtol, atol=atol))
    a = list(actual) if isinstance(actual, (list, tuple)) else [actual]
    e = list(expected) if isinstance(expected, (list, tuple)) else [expected]
    if len(a) != len(e) and 1 not in (len(a), len(e)):
        raise ValueError("shapes do not broadcast")
    a, e = (a * len(e), e) if len(a) == 1 else (a, e * len(a) if len(e) == 1 else e)
    return all(abs(float(x) - float(y)) <= atol + rtol * abs(float(y)) for x, y in zip(a, e))


def _poly(coefficients: list[float], x: float) -> float:
    return sum(c * math.pow(x, i) for i, c in enumerate(coefficients))


def _pyramid_surface(base_edge: float, height: float) -> int:
    # Mbpp/581 read with `height` as the pyramid's perpendicular height.
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant) / 2)


def _digit_distance(a: int, b: int) -> int:
    # Mbpp/558 with the shorter number padded with zeros.
    sa, sb = str(a), str(b)
    width = max(len(sa), len(sb))
    return sum(abs(int(x) - int(y)) for x, y in zip(sa.zfill(width), sb.zfill(width)))


def _mbpp_match(entry_point: str, inp: list[Any], out: Any, exp: Any, exact: bool, atol: float) -> bool:
    """MBPP+'s task-specific oracles; `exact` is `out == exp`. Raises where evalplus's check raises."""
    if entry_point == "are_equivalent":  # Mbpp/164: its canonical answer is disputed; any answer goes
        return True
    if entry_point == "sum_div":  # Mbpp/295
        return exact or out == 0
    if entry_point == "surface_Area":  # Mbpp/581
        return exact or abs(out - _pyramid_surface(*inp)) <= atol
    if entry_point == "digit_distance_nums":  # Mbpp/558
        return exact or out == _digit_distance(*inp)
    if entry_point in MBPP_SET_EQUAL:
        return set(out) == set(exp)
    if entry_point in MBPP_NOT_NONE:  # the expected value is already "was it not None"
        return out == exp if isinstance(out, bool) else exp == (out is not None)
    return exact


class Comparison:
    """Compares the outputs of one input group in order; keeps the group's tolerance state."""

    def __init__(self, dataset: str, entry_point: str, atol: float):
        self.dataset, self.entry_point, self.atol = dataset, entry_point, float(atol or 0.0)

    def matches(self, inp: list[Any], out: Any, exp: Any) -> bool:
        """Whether `out` is accepted where the canonical solution gave `exp`. Raises for values the
        comparison cannot handle (a failure, as in evalplus)."""
        exact = bool(out == exp)
        if self.dataset == "mbpp":
            exact = bool(_mbpp_match(self.entry_point, inp, out, exp, exact, self.atol))
        elif self.dataset == "humaneval" and self.entry_point == "find_zero":
            return abs(_poly(*inp, out)) <= self.atol  # HumanEval/32: any root will do
        if self.atol == 0 and is_floats(exp):
            self.atol = 1e-6  # kept for the later inputs of the group, as evalplus does
        if exact or self.atol == 0:
            return exact
        if type(out) is not type(exp):
            return False
        if isinstance(exp, (list, tuple)) and len(out) != len(exp):
            return False
        return allclose(out, exp, atol=self.atol)


# --- running ------------------------------------------------------------------------------------


class InputTimeout(Exception):
    """One input ran past its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise InputTimeout in the block after `seconds` of wall time (SIGALRM, as evalplus does)."""

    def fire(signum: int, frame: Any) -> None:
        raise InputTimeout(f"over {seconds:.2f}s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def reference_outputs(
    reference: str, entry_point: str, inputs: list[Any], not_none: bool = False
) -> tuple[list[Any], list[float]]:
    """The canonical solution's output and wall time on each input (each input deep-copied first)."""
    env: dict[str, Any] = {"__name__": "__vigor_reference__"}
    exec(compile(reference, "<canonical solution>", "exec"), env)
    fn = env[entry_point]
    outputs, times = [], []
    for inp in inputs:
        args = copy.deepcopy(inp)
        start = time.time()
        outputs.append(fn(*args))
        times.append(time.time() - start)
    if not_none:
        outputs = [out is not None for out in outputs]
    return outputs, times


def time_limits(reference_times: list[float]) -> list[float]:
    """Each input's limit: the canonical solution's time times 4, at least a second."""
    return [max(MIN_TIME_LIMIT_S, TIME_LIMIT_FACTOR * t) for t in reference_times]


def judge_group(
    fn: Callable[..., Any],
    inputs: list[Any],
    expected: list[Any],
    limits: list[float],
    comparison: Comparison,
) -> str | None:
    """Run `fn` on each input of one group; None when all pass, else why the first one failed."""
    deadline = time.monotonic() + min(GROUP_TIMEOUT_CAP_S, sum(limits)) + GROUP_TIMEOUT_SLACK_S
    for i, inp in enumerate(inputs):
        left = deadline - time.monotonic()
        if left <= 0:
            return f"input {i}: the group ran out of time"
        try:
            with time_limit(min(limits[i], left)):
                out = fn(*inp)
            ok = comparison.matches(inp, out, expected[i])
        except InputTimeout as exc:
            return f"input {i}: timeout ({exc})"
        except BaseException as exc:  # what the solution raises is its result
            return f"input {i}: {type(exc).__name__}: {str(exc)[:120]}"
        if not ok:
            return f"input {i}: expected {_short(expected[i])}, got {_short(out)}"
    return None


def _short(value: Any) -> str:
    try:
        return repr(value)[:80]
    except BaseException:  # e.g. an int past sys.int_info's str-digits limit
        return f"<{type(value).__name__}>"


def run_plus(
    code: str,
    reference: str,
    entry_point: str,
    groups: dict[str, list[Any]],
    atol: float,
    dataset: str,
    task_id: str,
) -> None:
    """Score `code` as evalplus does; AssertionError naming the first failing group and input.

    `groups` maps "base" and "plus" to their JSON inputs; `dataset` is "humaneval" or "mbpp".
    """
    not_none = dataset == "mbpp" and entry_point in MBPP_NOT_NONE
    prepared = {name: mbpp_inputs(task_id, inputs) if dataset == "mbpp" else inputs for name, inputs in groups.items()}
    try:
        oracle = {
            name: reference_outputs(reference, entry_point, inputs, not_none) for name, inputs in prepared.items()
        }
    except BaseException as exc:  # evalplus stops altogether here; we count the task as unscorable
        raise RuntimeError(
            f"unscorable: the canonical solution fails: {type(exc).__name__}: {str(exc)[:160]}"
        ) from None
    for name, inputs in prepared.items():
        # evalplus runs each group in a process of its own: the solution starts afresh for each
        env: dict[str, Any] = {"__name__": "__vigor_solution__"}
        try:
            exec(compile(code, "<solution>", "exec"), env)
            fn = env[entry_point]
        except BaseException as exc:
            raise AssertionError(f"the solution does not load: {type(exc).__name__}: {str(exc)[:160]}") from None
        expected, times = oracle[name]
        why = judge_group(
            fn, copy.deepcopy(inputs), expected, time_limits(times), Comparison(dataset, entry_point, atol)
        )
        if why is not None:
            raise AssertionError(f"{name} {why}")
