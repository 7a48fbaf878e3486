"""The Evaluator's first-arrival rule (docs/design.md), one test per clause.

Programs are written out by hand here (prefix + candidate as the last statement, open `try`
blocks closed with `finally: pass`) so these tests pin the oracle independently of the parser.
"""

from __future__ import annotations

import asyncio

import pytest

from engine.agents.evaluator import SandboxEvaluator
from engine.execution.sandbox import Sandbox
from engine.types import Classification, Example, Label, Outcome, Task, Verdict

PREFIX = "def f(arr):\n    i = 0\n    n = len(arr)\n"
EXAMPLES = (Example("f([1, 2, 3])", "3"), Example("f([5])", "1"))


def classification(program: str, line_no: int | None = None) -> Classification:
    lines = program.rstrip("\n").split("\n")
    in_function = any(line.startswith(("def ", "async def ")) for line in lines)
    blocks = (("def", 1),) if in_function else ()
    return Classification(Label.EXECUTABLE, "parse.ok", program=program, line_no=line_no or len(lines), blocks=blocks)


def evaluate(*items: Classification, examples: tuple[Example, ...] = EXAMPLES, timeout_s: float = 0.5) -> list[Verdict]:
    async def go() -> list[Verdict]:
        async with Sandbox() as sandbox:
            evaluator = SandboxEvaluator(sandbox, example_timeout_s=timeout_s)
            return await evaluator.evaluate_many(list(items), Task("t", "", "f", examples=examples))

    return asyncio.run(go())


def one(program: str, line_no: int | None = None, **kwargs: object) -> Verdict:
    return evaluate(classification(program, line_no), **kwargs)[0]  # type: ignore[arg-type]


def test_rejects_candidate_that_raises_at_its_own_line() -> None:
    v = one(PREFIX + "    x = arr[10]\n")
    assert (v.outcome, v.reason) == (Outcome.REJECT, "exec.raised")
    assert "IndexError" in v.detail and v.failed_examples == 2


def test_same_raising_line_inside_an_open_try_body_is_only_deferred() -> None:
    program = PREFIX + "    try:\n        x = arr[10]\n    finally:\n        pass\n"
    v = one(program, line_no=5)
    assert (v.outcome, v.reason) == (Outcome.SOFT, "exec.deferred")


def test_raising_line_inside_an_open_with_body_is_only_deferred() -> None:
    program = (
        "import contextlib\n"
        + PREFIX.replace("def f", "def f")
        + "    with contextlib.suppress(IndexError):\n        x = arr[10]\n"
    )
    v = one(program)
    assert (v.outcome, v.reason) == (Outcome.SOFT, "exec.deferred")


def test_call_to_a_helper_later_code_could_define_is_deferred() -> None:
    v = one(PREFIX + "    return helper(arr)\n")
    assert (v.outcome, v.reason) == (Outcome.SOFT, "exec.deferred")
    assert "NameError" in v.detail


def test_name_error_at_module_level_is_rejected_because_later_code_runs_too_late() -> None:
    v = one("x = undefined_name + 1\n")
    assert (v.outcome, v.reason) == (Outcome.REJECT, "exec.raised")


def test_unbound_local_is_rejected_since_later_code_cannot_assign_it_first() -> None:
    v = one("def f(arr):\n    if len(arr) > 100:\n        total = 0\n    y = total + 1\n")
    assert (v.outcome, v.reason) == (Outcome.REJECT, "exec.raised")
    assert "UnboundLocalError" in v.detail


def test_rejects_a_wrong_top_level_return() -> None:
    v = one(PREFIX + "    return 3\n")
    assert (v.outcome, v.reason) == (Outcome.REJECT, "exec.wrong_return")
    assert v.passed_examples == 1 and v.failed_examples == 1
    assert "returned 3, expected 1" in v.detail


def test_passes_a_right_top_level_return_with_both_examples_compared() -> None:
    v = one(PREFIX + "    return n\n")
    assert (v.outcome, v.reason, v.passed_examples) == (Outcome.PASS, "exec.ok", 2)
    assert "2 return(s) matched" in v.detail


def test_wrapped_example_call_compares_the_whole_expression() -> None:
    examples = (Example("round(f([1, 2]), 1)", "1.5"),)
    assert one("def f(arr):\n    return sum(arr) / len(arr)\n", examples=examples).reason == "exec.ok"
    assert one("def f(arr):\n    return sum(arr)\n", examples=examples).reason == "exec.wrong_return"


def test_one_line_if_return_is_not_compared_when_it_falls_through() -> None:
    v = one(PREFIX + "    if n > 2: return 3\n")
    assert v.outcome is not Outcome.REJECT


def test_loop_body_line_before_the_increment_is_written_never_rejected_and_never_hangs() -> None:
    # `while i < n:` with no `i += 1` yet would loop forever; the rule stops at the first arrival.
    v = one(PREFIX + "    while i < n:\n        x = arr[i]\n", timeout_s=5.0)
    assert v.outcome is not Outcome.REJECT
    assert v.reason in ("exec.ok", "exec.unreached")


def test_line_reached_only_after_an_open_loop_went_round_is_unreached() -> None:
    v = one(PREFIX + "    while i < n:\n        if i > 0:\n            x = arr[i]\n", timeout_s=5.0)
    assert (v.outcome, v.reason) == (Outcome.SOFT, "exec.unreached")
    assert "went round" in v.detail


def test_timeout_caused_by_the_prefix_is_inconclusive() -> None:
    # The committed loop never ends: not the candidate's fault.
    v = one(PREFIX + "    while i < n:\n        x = arr[i]\n    return x\n")
    assert (v.outcome, v.reason) == (Outcome.SOFT, "exec.unreached")


def test_rejects_line_that_loops_forever_by_itself() -> None:
    v = one(PREFIX + "    while True: pass\n")
    assert (v.outcome, v.reason) == (Outcome.REJECT, "exec.timeout")


def test_rejects_line_that_hangs_inside_c_code_by_killing_the_child() -> None:
    v = one(PREFIX + "    x = sum(range(10 ** 12))\n", examples=EXAMPLES[:1], timeout_s=0.3)
    assert (v.outcome, v.reason) == (Outcome.REJECT, "exec.timeout")


def test_untaken_branch_is_unreached() -> None:
    v = one(PREFIX + "    if n > 100:\n        return 0\n")
    assert (v.outcome, v.reason) == (Outcome.SOFT, "exec.unreached")


def test_line_in_a_nested_function_not_yet_called_is_unreached() -> None:
    v = one(PREFIX + "    def g(x):\n        return x[99]\n")
    assert (v.outcome, v.reason) == (Outcome.SOFT, "exec.unreached")


def test_recursive_call_that_falls_through_past_the_candidate_is_inconclusive() -> None:
    # The inner call returns None only because its `return` is not written yet.
    program = "def f(n):\n    if n == 0:\n        return 0\n    x = f(n - 1) + 1\n"
    v = one(program, examples=(Example("f(3)", "3"),))
    assert v.outcome is not Outcome.REJECT


def test_recursive_return_is_compared() -> None:
    program = "def f(n):\n    if n == 0:\n        return 0\n    return f(n - 1) + 2\n"
    assert one(program, examples=(Example("f(3)", "3"),)).reason == "exec.wrong_return"
    program = "def f(n):\n    if n == 0:\n        return 0\n    return f(n - 1) + 1\n"
    assert one(program, examples=(Example("f(3)", "3"),)).reason == "exec.ok"


def test_handled_exception_in_the_prefix_does_not_hide_the_return() -> None:
    program = "def f(s):\n    try:\n        x = int(s)\n    except ValueError:\n        x = 0\n    return x\n"
    assert one(program, examples=(Example("f('a')", "1"),)).reason == "exec.wrong_return"
    assert one(program, examples=(Example("f('a')", "0"),)).reason == "exec.ok"


def test_function_line_without_examples_is_unreached_without_running() -> None:
    v = one(PREFIX + "    x = arr[10]\n", examples=())
    assert (v.outcome, v.reason) == (Outcome.SOFT, "exec.unreached")


def test_verdicts_come_back_in_candidate_order() -> None:
    verdicts = evaluate(
        classification(PREFIX + "    return n\n"),
        classification(PREFIX + "    x = arr[10]\n"),
        classification(PREFIX + "    return 3\n"),
    )
    assert [v.reason for v in verdicts] == ["exec.ok", "exec.raised", "exec.wrong_return"]


@pytest.mark.parametrize("line", ["    return n", "    x = arr[0]"])
def test_same_candidate_gets_the_same_verdict_twice(line: str) -> None:
    first, second = evaluate(classification(PREFIX + line + "\n"), classification(PREFIX + line + "\n"))
    assert (first.outcome, first.reason, first.detail) == (second.outcome, second.reason, second.detail)


def test_script_line_reads_the_examples_stdin() -> None:
    stdio = (Example("", "3", form="stdio", stdin="1 2\n"),)
    ok = one("a, b = map(int, input().split())\n", examples=stdio)
    assert (ok.outcome, ok.reason) == (Outcome.PASS, "exec.ok")
    bad = one("a, b = map(int, input().split())\nc = a / (b - 2)\n", examples=stdio)
    assert (bad.outcome, bad.reason) == (Outcome.REJECT, "exec.raised")


def test_reading_input_no_example_supplies_is_deferred() -> None:
    v = one("n = int(input())\n", examples=())
    assert (v.outcome, v.reason) == (Outcome.SOFT, "exec.deferred")
