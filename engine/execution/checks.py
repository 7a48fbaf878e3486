"""Helpers the scoring programs (and some visible tests) import inside the sandbox child.

Each `run_*` function raises AssertionError at the first failing case and returns when every
case passes, which is what `engine.agents.tester.child_run_program` counts as a pass.
"""

from __future__ import annotations

import contextlib
import copy
import io
import sys
import unittest
from typing import Any


def stdout_matches(actual: str, expected: str) -> bool:
    """Outputs agree line by line after stripping, or token by token (the APPS / LiveCodeBench rule)."""
    a = [line.strip() for line in actual.strip().splitlines()]
    e = [line.strip() for line in expected.strip().splitlines()]
    return a == e or actual.split() == expected.split()


def run_script(code: str, stdin: str) -> str:
    """Run `code` as a script (`__name__ == "__main__"`) on `stdin`; its stdout."""
    out = io.StringIO()
    old_in, old_out = sys.stdin, sys.stdout
    sys.stdin, sys.stdout = io.StringIO(stdin), out
    try:
        with contextlib.suppress(SystemExit):
            exec(compile(code, "<solution>", "exec"), {"__name__": "__main__"})
    finally:
        sys.stdin, sys.stdout = old_in, old_out
    return out.getvalue()


def stdio_ok(code: str, stdin: str, expected: str) -> bool:
    """Whether the script prints `expected` for `stdin` (usable from a visible test)."""
    return stdout_matches(run_script(code, stdin), expected)


def run_stdio_cases(code: str, cases: list[list[str]]) -> None:
    """Each (stdin, expected stdout) case in turn; AssertionError at the first mismatch."""
    for i, (stdin, expected) in enumerate(cases):
        got = run_script(code, stdin)
        if not stdout_matches(got, expected):
            raise AssertionError(f"case {i}: expected {expected[:80]!r}, got {got[:80]!r}")


def call_matches(actual: Any, expected: Any) -> bool:
    """APPS / LiveCodeBench call-based comparison: tuples as lists, a one-element list unwrapped."""
    if isinstance(actual, tuple):
        actual = list(actual)
    if actual == expected:
        return True
    return isinstance(expected, list) and len(expected) == 1 and actual == expected[0]


def _callable(env: dict[str, Any], fn_name: str) -> Any:
    if "Solution" in env and hasattr(env["Solution"], fn_name):
        return getattr(env["Solution"](), fn_name)
    return env[fn_name]


def run_call_cases(code: str, fn_name: str, cases: list[list[Any]]) -> None:
    """Call `fn_name` (a function, or a method of `Solution`) on each (args, expected) case."""
    env: dict[str, Any] = {"__name__": "__vigor_solution__"}
    exec(compile(code, "<solution>", "exec"), env)
    for i, (args, expected) in enumerate(cases):
        got = _callable(env, fn_name)(*copy.deepcopy(args))
        if not call_matches(got, expected):
            raise AssertionError(
                f"case {i}: {fn_name}(*{str(args)[:80]}) expected {str(expected)[:80]}, got {got!r:.80}"
            )


def run_unittest(env: dict[str, Any], class_name: str = "TestCases") -> None:
    """Run a unittest class defined in `env` (BigCodeBench); AssertionError naming the first failure."""
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(env[class_name])
    result = unittest.TestResult()
    suite.run(result)
    problems = result.failures + result.errors
    if problems:
        test, text = problems[0]
        raise AssertionError(f"{len(problems)} of {result.testsRun} tests failed; first {test.id()}: {text[-300:]}")
    if not result.testsRun:
        raise AssertionError("no tests ran")
