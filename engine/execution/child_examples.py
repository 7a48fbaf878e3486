"""(In the sandbox child.) A finished program checked on a task's visible examples; stdlib only.

Unlike the visible-test runner, this reports what each example call returned or raised, so a
failing draft becomes evidence for repair: the call, the expected and the observed value, and the
line that raised.
"""

from __future__ import annotations

import ast
import signal
import sys
import traceback
from typing import Any

from engine.execution.matching import values_match


class _Slow(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Slow()


def _raising_line(code_lines: list[str], exc: BaseException) -> str:
    """The program's own line where the exception was raised (its innermost frame in the program)."""
    line = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<draft>" and frame.lineno and 0 < frame.lineno <= len(code_lines):
            line = code_lines[frame.lineno - 1].strip()
    return line


def child_check_examples(code: str, examples: list[list[Any]], timeout_s: float) -> dict[str, Any]:
    """Exec `code`, then each `[call, expected]`; per example: ok, and what was observed."""
    sys.setrecursionlimit(3000)
    lines = code.split("\n")
    env: dict[str, Any] = {"__name__": "__vigor_draft__"}
    signal.signal(signal.SIGALRM, _alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
        exec(compile(code, "<draft>", "exec"), env)
    except BaseException as exc:
        what = "took too long" if isinstance(exc, _Slow) else f"{type(exc).__name__}: {str(exc)[:120]}"
        return {"error": what, "line": _raising_line(lines, exc), "examples": []}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    out = []
    for call, expected in examples:
        fact: dict[str, Any] = {"call": call, "expected": expected}
        try:
            signal.setitimer(signal.ITIMER_REAL, timeout_s)
            value = eval(compile(call, "<example>", "eval"), env)
            signal.setitimer(signal.ITIMER_REAL, 0)
            fact["observed"] = repr(value)[:200]
            fact["ok"] = values_match(value, ast.literal_eval(expected))
        except _Slow:
            fact.update(ok=False, raised=f"no answer within {timeout_s:g}s")
        except BaseException as exc:
            signal.setitimer(signal.ITIMER_REAL, 0)
            fact.update(ok=False, raised=f"{type(exc).__name__}: {str(exc)[:120]}", line=_raising_line(lines, exc))
        out.append(fact)
    return {"examples": out}
