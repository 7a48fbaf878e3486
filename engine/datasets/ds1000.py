"""DS-1000 (xlangai/DS-1000, data/ds1000.jsonl.gz): data-science completions scored by code_context.

The problem text is the instruction; the code in its last `<code>` block before the solution
marker (the problem's own setup) is the prompt the completion continues. Scoring inserts the
completion alone into code_context's `test_execution` (and `test_string` where defined), as the
official harness does. A problem whose library is not installed is marked un-scorable: its
scoring program raises `unscorable: ...` instead of pretending to pass or fail on the solution.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

from engine.datasets import BenchItem, Hidden
from engine.datasets._io import json_field, load_rows, require_file
from engine.types import Task

LIBRARY_MODULES = {
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
    "sklearn": "sklearn",
    "pytorch": "torch",
    "tensorflow": "tensorflow",
    "matplotlib": "matplotlib",
}

_SETUP = re.compile(r"<code>\n(.*?)</code>", re.S)


def setup_code(prompt: str) -> str:
    """The problem's runnable setup: the last `<code>` block before the solution marker, else ''."""
    head = prompt.split("BEGIN SOLUTION")[0]
    blocks = _SETUP.findall(head)
    return blocks[-1] if blocks else ""


def missing_libraries(library: str) -> list[str]:
    module = LIBRARY_MODULES.get(library.lower())
    if module is None:
        return []
    return [] if importlib.util.find_spec(module) is not None else [module]


def _ds1000_item(row: dict[str, Any]) -> BenchItem:
    prompt, context = str(row["prompt"]), str(row["code_context"])
    if "def test_execution(" not in context:
        raise ValueError("code_context has no test_execution")
    meta = json_field(row, "metadata") if row.get("metadata") else {}
    task_id = str(meta.get("problem_id", row.get("task_id", "")))
    if not task_id:
        raise KeyError("metadata.problem_id")
    setup = setup_code(prompt)
    missing = missing_libraries(str(meta.get("library", "")))
    task = Task(
        task_id=task_id,
        prompt=setup,
        instruction=prompt,
        reference=row.get("reference_code"),
        metadata={"library": meta.get("library"), "scorable": not missing},
    )
    hidden = Hidden("ds1000", test=context, extra={"prefix": setup, "missing_libs": missing})
    return BenchItem(task, hidden)


def load_ds1000(path: str | None, *, skipped: list[dict]) -> list[BenchItem]:
    """DS-1000 problems: the prompt visible; code_context (tests and expected answers) hidden."""
    return load_rows(require_file(path, "ds1000"), _ds1000_item, skipped)
