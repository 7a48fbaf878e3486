"""The Tester: runs a task's visible tests on the finished code, in the sandbox.

Also holds the child-side functions the sandbox runs for visible and hidden tests; hidden tests
are only ever run by `engine.runs.evaluate`, after generation has finished.
"""

from __future__ import annotations

import ast
from typing import Any, Protocol

from engine.execution.sandbox import Job
from engine.types import Task


def split_statements(tests: str) -> list[str]:
    """Top-level statements of a test script, each as source, so each is counted on its own."""
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return [tests] if tests.strip() else []
    lines = tests.split("\n")
    return ["\n".join(lines[node.lineno - 1 : node.end_lineno]) for node in tree.body]


class Tester(Protocol):
    """Runs a task's visible tests on finished code."""

    def job(self, code: str, task: Task) -> tuple[Job | None, int]:
        """Speculation hook: the sandbox job that tests `code`, and how many checks it runs; (None, 0)
        when nothing can be tested. The loop runs it ahead on a draft's predicted final code."""
        ...

    async def test(self, code: str, task: Task, *, known: dict[str, Any] | None = None) -> dict[str, Any]:
        """The outcome `{ran, passed, failed, ok}`; `known` is this same job's result when it already
        ran ahead for exactly this code (then nothing runs again)."""
        ...


class SandboxTester:
    """Runs `task.visible_tests` (asserts over the entry point) against the final code."""

    def __init__(self, sandbox: Any, *, timeout_s: float = 10.0):
        self.sandbox = sandbox
        self.timeout_s = timeout_s

    def job(self, code: str, task: Task) -> tuple[Job | None, int]:
        """The sandbox job that tests `code` and how many checks it runs; (None, 0) when nothing can."""
        tests = split_statements(task.visible_tests)
        stdio = [
            [ex.stdin, _literal(ex.expected)] for ex in task.examples if ex.form == "stdio" and ex.stdin is not None
        ]
        if tests:
            return Job("engine.execution.child_tests:child_run_tests", (code, tests), timeout_s=self.timeout_s), len(
                tests
            )
        if stdio:
            return Job("engine.execution.child_tests:child_run_stdio", (code, stdio), timeout_s=self.timeout_s), len(
                stdio
            )
        return None, 0

    async def test(self, code: str, task: Task, *, known: dict[str, Any] | None = None) -> dict[str, Any]:
        job, count = self.job(code, task)
        if job is None:
            return {"ran": 0, "passed": 0, "failed": 0, "ok": None}
        if known is not None:
            return dict(known)
        result = await self.sandbox.run(job)
        if not result.ok:
            error = "timeout" if result.timed_out else result.error
            return {"ran": count, "passed": 0, "failed": count, "ok": False, "error": error}
        return dict(result.value)


def _literal(source: str | None) -> str:
    """The expected stdout of a stdio example (its `expected` is the repr of a string)."""
    try:
        value = ast.literal_eval(source or "''")
    except (ValueError, SyntaxError):
        return source or ""
    return value if isinstance(value, str) else str(value)
