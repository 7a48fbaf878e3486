"""APPS (codeparrot/apps, test.jsonl / train.jsonl): stdin/stdout and `fn_name` call-based problems.

A couple of cases are shown (as Examples and visible tests); scoring runs every case.
"""

from __future__ import annotations

from typing import Any

from engine.datasets import BenchItem, Hidden
from engine.datasets._io import json_field, load_rows, require_file
from engine.types import Example, Task

SHOWN = 2
"""At most this many cases are visible; at least one case always stays hidden."""

_CHECKS_IMPORT = "import engine.execution.checks as _vigor_checks"


TYPING_PRELUDE = "from typing import *\n"
"""The prefix of LeetCode-style tasks: their starter code annotates with `List[int]` and the like."""


def prelude_for(starter: str) -> str:
    return TYPING_PRELUDE if "class Solution" in starter else ""


def shown_count(total: int) -> int:
    return max(0, min(SHOWN, total - 1))


def stdio_examples(cases: list[list[str]]) -> tuple[Example, ...]:
    """Script-style Examples: the input is fed on stdin, the expected stdout is the repr'd string."""
    return tuple(Example("", repr(out), form="stdio", stdin=inp) for inp, out in cases)


def call_source(fn_name: str, args: list[Any], method: bool) -> str:
    target = f"Solution().{fn_name}" if method else fn_name
    return f"{target}(*{args!r})"


def call_examples(fn_name: str, cases: list[list[Any]], method: bool) -> tuple[tuple[Example, ...], str]:
    """Call Examples (no compared value: APPS wraps outputs in a list inconsistently) and visible asserts."""
    examples = tuple(Example(call_source(fn_name, args, method), None, form="call") for args, _ in cases)
    asserts = [
        f"assert _vigor_checks.call_matches({call_source(fn_name, args, method)}, {expected!r})"
        for args, expected in cases
    ]
    tests = "\n".join([_CHECKS_IMPORT, *asserts]) if asserts else ""
    return examples, tests


def _as_text(value: Any) -> str:
    return "\n".join(map(str, value)) + "\n" if isinstance(value, list) else str(value)


def _apps_item(row: dict[str, Any]) -> BenchItem:
    io_spec = json_field(row, "input_output")
    inputs, outputs = io_spec["inputs"], io_spec["outputs"]
    if len(inputs) != len(outputs) or not inputs:
        raise ValueError("input_output needs as many outputs as inputs, at least one")
    solutions = json_field(row, "solutions") if row.get("solutions") else []
    starter = row.get("starter_code") or ""
    fn_name = io_spec.get("fn_name")
    n = shown_count(len(inputs))
    question = str(row["question"])
    instruction = question + (f"\n\nStart from:\n{starter}" if starter else "")
    if fn_name:
        method = "class Solution" in starter
        cases = [[list(args), out] for args, out in zip(inputs, outputs)]
        examples, tests = call_examples(fn_name, cases[:n], method)
        hidden = Hidden("calls", entry_point=fn_name, extra={"fn_name": fn_name, "cases": cases})
    else:
        # Some APPS rows store an input or output as a list of lines rather than one string.
        cases = [[_as_text(i), _as_text(o)] for i, o in zip(inputs, outputs)]
        examples, tests = stdio_examples(cases[:n]), ""
        hidden = Hidden("stdio", extra={"cases": cases})
    task = Task(
        task_id=str(row["problem_id"] if "problem_id" in row else row["id"]),
        prompt=prelude_for(starter),
        entry_point=fn_name or "",
        instruction=instruction,
        examples=examples,
        visible_tests=tests,
        reference=solutions[0].replace("\r\n", "\n") if solutions else None,
        metadata={"difficulty": row.get("difficulty"), "url": row.get("url"), "starter_code": starter},
    )
    return BenchItem(task, hidden)


def load_apps(path: str | None, *, skipped: list[dict]) -> list[BenchItem]:
    """APPS problems: the question and up to two cases visible; all cases score."""
    return load_rows(require_file(path, "apps"), _apps_item, skipped)
