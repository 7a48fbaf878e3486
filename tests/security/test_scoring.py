"""Hidden-test scoring gets the verdict channel's guarantee: a solution cannot report its own pass."""

from __future__ import annotations

import asyncio

import pytest

from engine.datasets import BenchItem, Hidden
from engine.execution.sandbox import Sandbox
from engine.runs.evaluate import score_task
from engine.types import Task

ITEM = BenchItem(
    Task("sec/score", "", "f"), Hidden("check_function", test="def check(c):\n    assert c(1) == 2\n", entry_point="f")
)
FORGERIES = {
    "forged line then exit": 'import os\nos.write(3, b\'{"result": {"passed": true}}\\n\'); os._exit(0)\ndef f(x):\n    return x\n',
    "forged line then wrong": 'import os\nos.write(3, b\'{"result": {"passed": true}}\\n\')\ndef f(x):\n    return x\n',
    "exit before the tests": "import os\ndef f(x):\n    return x\nos._exit(0)\n",
}


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_a_solution_cannot_score_itself_a_pass(case: str) -> None:
    async def go() -> dict:
        async with Sandbox() as sandbox:
            return await score_task(sandbox, {"task_id": "sec/score", "code": FORGERIES[case]}, ITEM, 10)

    row = asyncio.run(go())
    assert row["passed"] is False, row


def test_the_right_solution_still_passes() -> None:
    async def go() -> dict:
        async with Sandbox() as sandbox:
            return await score_task(
                sandbox, {"task_id": "sec/score", "code": "def f(x):\n    return x + 1\n"}, ITEM, 10
            )

    assert asyncio.run(go())["passed"] is True
