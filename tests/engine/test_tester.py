"""The Tester: visible tests on the final code, in the sandbox; script-style tasks by stdin/stdout."""

from __future__ import annotations

import asyncio
from typing import Any

from engine.agents.tester import SandboxTester
from engine.execution.sandbox import Sandbox
from engine.types import Example, Task


def run_tester(code: str, task: Task) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with Sandbox() as sandbox:
            return await SandboxTester(sandbox, timeout_s=5).test(code, task)

    return asyncio.run(go())


def test_counts_each_visible_assert() -> None:
    task = Task("t", "", "f", visible_tests="assert f(1) == 2\nassert f(2) == 3\nassert f(3) == 5")
    result = run_tester("def f(x):\n    return x + 1\n", task)
    assert (result["ran"], result["passed"], result["failed"], result["ok"]) == (3, 2, 1, False)


def test_script_task_is_tested_on_its_stdin_examples() -> None:
    examples = (Example("", "'3\\n'", form="stdio", stdin="1 2\n"), Example("", "'7\\n'", form="stdio", stdin="3 4\n"))
    task = Task("t", "", examples=examples)
    good = run_tester("a, b = map(int, input().split())\nprint(a + b)\n", task)
    assert (good["ran"], good["ok"]) == (2, True)
    bad = run_tester("a, b = map(int, input().split())\nprint(a * b)\n", task)
    assert (bad["passed"], bad["ok"]) == (0, False)


def test_task_without_visible_tests_is_untested() -> None:
    assert run_tester("x = 1\n", Task("t", ""))["ok"] is None
