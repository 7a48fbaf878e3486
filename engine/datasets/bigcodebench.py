"""BigCodeBench (bigcode/bigcodebench, the published jsonl): a unittest class scores each task.

The code prompt (`complete_prompt`: imports, signature, docstring) is the prefix; the
natural-language `instruct_prompt` rides along as the instruction. Docstring examples are the
only visible tests; the `TestCases` unittest class is hidden.
"""

from __future__ import annotations

import ast
from typing import Any

from engine.datasets import BenchItem, Hidden
from engine.datasets._io import load_rows, require_file
from engine.datasets.humaneval import visible_tests_from_examples
from engine.examples import extract_examples
from engine.types import Task


def _bcb_item(row: dict[str, Any]) -> BenchItem:
    task_id, prompt, entry = row["task_id"], row["complete_prompt"], row.get("entry_point") or "task_func"
    test = row["test"]
    if not isinstance(test, str) or "class TestCases" not in test:
        raise ValueError("test has no TestCases class")
    examples = extract_examples(prompt, entry)
    libs = row.get("libs") or []
    if isinstance(libs, str):  # the published files hold the list's repr
        libs = ast.literal_eval(libs)
    task = Task(
        task_id=str(task_id),
        prompt=prompt,
        entry_point=entry,
        instruction=row.get("instruct_prompt") or "",
        examples=examples,
        visible_tests=visible_tests_from_examples(examples, entry),
        reference=row.get("canonical_solution"),
        metadata={"libs": list(libs)},
    )
    return BenchItem(task, Hidden("unittest", test=test, entry_point=entry))


def load_bigcodebench(path: str | None, *, skipped: list[dict]) -> list[BenchItem]:
    """BigCodeBench tasks: prompt and its docstring examples visible; the unittest hidden."""
    return load_rows(require_file(path, "bigcodebench_jsonl"), _bcb_item, skipped)
