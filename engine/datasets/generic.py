"""A generic jsonl benchmark: `dataset.fields` maps each role to the field that holds it.

Roles: id, prompt, entry_point, instruction, tests (visible asserts), hidden_tests, reference.
An unmapped role reads the field of its own name (`id` reads `task_id`). Hidden tests that
define `check(candidate)` run HumanEval-style; other hidden tests run as a script of asserts.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from engine.datasets import BenchItem, Hidden
from engine.datasets._io import BadRow, load_rows, require_file, text_field
from engine.datasets.humaneval import visible_tests_from_examples
from engine.errors import DatasetError
from engine.examples import extract_examples
from engine.types import Task

ROLES = {
    "id": "task_id",
    "prompt": "prompt",
    "entry_point": "entry_point",
    "instruction": "instruction",
    "tests": "tests",
    "hidden_tests": "hidden_tests",
    "reference": "reference",
}


def field_map(fields: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(fields) - set(ROLES))
    if unknown:
        raise DatasetError(f"dataset.fields: unknown role(s) {', '.join(unknown)} (known: {', '.join(ROLES)})")
    return {**ROLES, **fields}


def load_generic(path: str | None, fields: Mapping[str, str], *, skipped: list[dict]) -> list[BenchItem]:
    """Tasks of a jsonl file under a field mapping; rows without an id or hidden tests are skipped."""
    names = field_map(fields)

    def text(row: dict[str, Any], role: str) -> str:
        value = row.get(names[role])
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "\n".join(value)  # a list of test statements
        return text_field(row, names[role], required=False)

    def build(row: dict[str, Any]) -> BenchItem:
        task_id = row[names["id"]]
        if not isinstance(task_id, (str, int)) or isinstance(task_id, bool):
            raise BadRow(f"field {names['id']!r} must be a string or an integer (got {type(task_id).__name__})")
        hidden = text(row, "hidden_tests")
        if not hidden.strip():
            raise KeyError(names["hidden_tests"])
        prompt, entry = text(row, "prompt"), text(row, "entry_point")
        examples = extract_examples(prompt, entry) if entry and prompt else ()
        visible = text(row, "tests") or visible_tests_from_examples(examples, entry)
        task = Task(
            task_id=str(task_id),
            prompt=prompt,
            entry_point=entry,
            instruction=text(row, "instruction"),
            examples=examples,
            visible_tests=visible,
            reference=row.get(names["reference"]),
        )
        _check_hidden(hidden, names["hidden_tests"])
        kind = "check_function" if "def check(" in hidden and entry else "asserts"
        return BenchItem(task, Hidden(kind, test=hidden, entry_point=entry))

    return load_rows(require_file(path, "jsonl"), build, skipped)


def _check_hidden(source: str, field: str) -> None:
    """Hidden tests must be code that can fail: they parse and hold an assert, a raise or a check()."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise BadRow(f"field {field!r} does not parse: {exc.msg} (line {exc.lineno})") from None
    can_fail = any(
        isinstance(node, (ast.Assert, ast.Raise))
        or (isinstance(node, ast.FunctionDef) and node.name == "check")
        or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check")
        for node in ast.walk(tree)
    )
    if not can_fail:
        raise BadRow(f"field {field!r} has no assert, raise or check(): it could never fail")
