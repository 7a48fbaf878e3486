"""Judging a draft's predicted final code on the visible examples, in the sandbox: counts and evidence."""

from __future__ import annotations

import asyncio

from engine.agents.coders.judge import Judgement, SandboxJudge, comparable_examples
from engine.execution.sandbox import Sandbox
from engine.types import Example, Task

TASK = Task(
    "t",
    "def half(x):\n",
    "half",
    examples=(Example("half(4)", "2"), Example("half(0)", "0"), Example("half(1)", None), Example("half(2)", "x + 1")),
)


def judge(code: str, task: Task = TASK) -> Judgement | None:
    async def go() -> Judgement | None:
        async with Sandbox() as sandbox:
            return await SandboxJudge(sandbox, example_timeout_s=0.5).judge(code, task)

    return asyncio.run(go())


def test_only_examples_with_a_literal_expected_value_are_judged():
    assert comparable_examples(TASK) == [["half(4)", "2"], ["half(0)", "0"]]


def test_a_right_program_passes_every_example():
    verdict = judge("def half(x):\n    return x // 2\n")
    assert verdict == Judgement(2, 2, ())
    assert verdict.all_pass


def test_a_wrong_value_is_evidence_with_the_call_expected_and_observed():
    verdict = judge("def half(x):\n    return x // 2 + 1\n")
    assert verdict is not None and verdict.passed == 0
    assert verdict.evidence[0] == "`half(4)` should return 2 but returned 3"


def test_an_exception_is_evidence_with_the_line_that_raised():
    verdict = judge("def half(x):\n    y = 8 // x\n    return x // 2\n")
    assert verdict is not None and verdict.passed == 1
    assert verdict.evidence == (
        "`half(0)` should return 0 but raised ZeroDivisionError: integer division or modulo by zero at `y = 8 // x`",
    )


def test_a_program_that_loops_forever_fails_in_bounded_time():
    verdict = judge("def half(x):\n    while True:\n        pass\n")
    assert verdict is not None and verdict.passed == 0
    assert "no answer within" in verdict.evidence[0]


def test_a_program_that_fails_at_import_says_so():
    verdict = judge("import no_such_module_here\ndef half(x):\n    return x // 2\n")
    assert verdict is not None and verdict.passed == 0
    assert "fails before any call: ModuleNotFoundError" in verdict.evidence[0]


def test_a_task_without_comparable_examples_cannot_be_judged():
    assert judge("def f():\n    return 1\n", Task("t", "", "f")) is None
