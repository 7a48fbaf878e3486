"""HumanEval+ and MBPP+ in evalplus's published schema (HumanEvalPlus.jsonl.gz, MbppPlus.jsonl.gz).

Both score a solution on the base and plus inputs against the canonical solution's outputs,
computed in the sandbox at scoring time, as evalplus does.
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from engine.datasets import BenchItem, Hidden
from engine.datasets._io import json_field, load_rows, require_file
from engine.datasets.humaneval import docstring_task
from engine.types import Example, Task


def _inputs(row: dict[str, Any], key: str) -> list[Any]:
    inputs = list(json_field(row, key) or [])
    if not all(isinstance(args, list) for args in inputs):
        raise TypeError(f"{key} must be a list of argument lists")
    return inputs


def _plus_extra(row: dict[str, Any], dataset: str, reference: str) -> dict[str, Any]:
    """What evalplus scores with: the canonical program (prompt + canonical solution; the row's
    `contract` is left out, as evalplus leaves it out), the base and plus inputs, and atol."""
    return {
        "dataset": dataset,
        "task_id": str(row["task_id"]),
        "reference": reference,
        "groups": {"base": _inputs(row, "base_input"), "plus": _inputs(row, "plus_input")},
        "atol": float(row.get("atol") or 0.0),
    }


def _joined(prompt: str, canonical: str) -> str:
    """prompt + canonical solution, as evalplus runs it (a newline between when neither has one)."""
    glue = "" if not prompt or prompt.endswith("\n") or canonical.startswith("\n") else "\n"
    return prompt + glue + canonical


def _humanevalplus_item(row: dict[str, Any]) -> BenchItem:
    task_id, prompt, entry = row["task_id"], row["prompt"], row["entry_point"]
    canonical = row["canonical_solution"]
    task = docstring_task(task_id, prompt, entry, canonical)
    test = row.get("test") or ""
    if "def check(" in test:
        test = f"{test}\n\ncheck({entry})"
    # `test` scores only a row without inputs: evalplus judges by the inputs alone.
    extra = _plus_extra(row, "humaneval", _joined(prompt, canonical))
    return BenchItem(task, Hidden("plus_inputs", test=test, entry_point=entry, extra=extra))


def load_humanevalplus(path: str | None, *, skipped: list[dict]) -> list[BenchItem]:
    """HumanEval+ problems: the prompt and its docstring examples visible; base + plus inputs hidden."""
    return load_rows(require_file(path, "humanevalplus"), _humanevalplus_item, skipped)


def _asserts(row: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The row's asserts and the imports they need: `test_list` + `test_imports` (MBPP's own
    fields), or evalplus's `assertion` text, whose import lines come first."""
    if row.get("test_list"):
        return [t.strip() for t in row["test_list"] if t.strip()], list(row.get("test_imports") or [])
    tree = ast.parse(row.get("assertion") or "")
    asserts = [ast.unparse(node) for node in tree.body if isinstance(node, ast.Assert)]
    imports = [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return asserts, list(row.get("test_imports") or imports)


def entry_from_assert(src: str) -> str:
    """The function an MBPP assert tests: the first called name that is not a builtin."""
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not hasattr(builtins, node.func.id):
            return node.func.id
    raise ValueError(f"no function call in assert {src[:60]!r}")


def example_from_assert(src: str, entry: str) -> Example | None:
    """`assert f(...) == <literal>` as an Example the Evaluator can compare; None for other shapes."""
    node = ast.parse(src).body[0]
    if not isinstance(node, ast.Assert) or not isinstance(node.test, ast.Compare):
        return None
    cmp = node.test
    if len(cmp.ops) != 1 or not isinstance(cmp.ops[0], ast.Eq):
        return None
    left, right = cmp.left, cmp.comparators[0]
    if not (isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == entry):
        return None
    try:
        ast.literal_eval(right)
    except ValueError:
        return None
    return Example(ast.unparse(left), ast.unparse(right), form="assert")


def _description(row: dict[str, Any]) -> str:
    if row.get("text"):
        return str(row["text"]).strip()
    lines = [ln for ln in str(row.get("prompt", "")).splitlines() if not ln.strip().startswith("assert")]
    # evalplus quotes the description with triple quotes of either kind
    return "\n".join(lines).replace('"""', "").replace("'''", "").strip()


def _mbppplus_item(row: dict[str, Any]) -> BenchItem:
    asserts, test_imports = _asserts(row)
    if not asserts:
        raise ValueError("no asserts in test_list / assertion")
    first, rest = asserts[0], asserts[1:]
    entry = row.get("entry_point") or entry_from_assert(first)
    # The prompt is rebuilt from the description and the first assert only, so no hidden assert
    # can ride along in a published prompt.
    desc = _description(row).replace('"""', "'''").replace("\\", "\\\\")
    prompt = f'"""\n{desc}\n{first}\n"""\n'
    imports = "\n".join(test_imports)
    example = example_from_assert(first, entry)
    canonical = (row.get("canonical_solution") or row.get("code") or "").replace("\r\n", "\n")
    task = Task(
        task_id=str(row["task_id"]),
        prompt=prompt,
        entry_point=entry,
        instruction=desc,
        examples=(example,) if example else (),
        visible_tests=f"{imports}\n{first}".strip(),
        reference=canonical or None,
    )
    # The asserts score only a row without a canonical solution: evalplus judges by the inputs alone.
    hidden_test = "\n".join([imports, *rest]).strip()
    extra = _plus_extra(row, "mbpp", _joined(str(row.get("prompt") or ""), canonical)) if canonical else {}
    return BenchItem(task, Hidden("plus_inputs", test=hidden_test, entry_point=entry, extra=extra))


def load_mbppplus(path: str | None, *, skipped: list[dict]) -> list[BenchItem]:
    """MBPP+ problems: the description and first assert visible; other asserts and plus inputs hidden."""
    return load_rows(require_file(path, "mbppplus"), _mbppplus_item, skipped)
