"""LiveCodeBench code generation (livecodebench/code_generation_lite test*.jsonl).

Public test cases are visible; private ones are hidden. Newer releases store the private cases
as base64 of zlib-compressed pickle of a JSON string: the pickle is read with an Unpickler that
refuses every global, so only plain str/bytes/containers can come out of it, never code.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from typing import Any

from engine.datasets import BenchItem, Hidden
from engine.datasets._io import json_field, load_rows, require_file
from engine.datasets.apps import call_examples, prelude_for, stdio_examples
from engine.types import Task


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles builtin data only: any class or function reference is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")


def decode_private(value: Any) -> list[dict[str, Any]]:
    """Private test cases from either published form (a JSON string, or the compressed one)."""
    if isinstance(value, list):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    raw = zlib.decompress(base64.b64decode(value.encode("utf-8")))
    text = _PlainUnpickler(io.BytesIO(raw)).load()
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not isinstance(text, str):
        raise TypeError("compressed private_test_cases must unpickle to a JSON string")
    return json.loads(text)


def _args(text: str) -> list[Any]:
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def _lcb_item(row: dict[str, Any]) -> BenchItem:
    public = json_field(row, "public_test_cases")
    private = decode_private(row["private_test_cases"]) if row.get("private_test_cases") else []
    meta = json_field(row, "metadata") if row.get("metadata") else {}
    starter = row.get("starter_code") or ""
    functional = any(c.get("testtype") == "functional" for c in public + private)
    instruction = str(row["question_content"]) + (f"\n\nStart from:\n{starter}" if starter else "")
    if functional:
        fn_name = meta["func_name"]
        method = "class Solution" in starter
        shown = [[_args(c["input"]), json.loads(c["output"])] for c in public]
        cases = shown + [[_args(c["input"]), json.loads(c["output"])] for c in private]
        examples, tests = call_examples(fn_name, shown, method)
        hidden = Hidden("calls", entry_point=fn_name, extra={"fn_name": fn_name, "cases": cases})
    else:
        fn_name = ""
        shown = [[c["input"], c["output"]] for c in public]
        cases = shown + [[c["input"], c["output"]] for c in private]
        examples, tests = stdio_examples(shown), ""
        hidden = Hidden("stdio", extra={"cases": cases})
    reference = row.get("vigor_reference")  # not in the published files; fixtures and self-tests add it
    task = Task(
        task_id=str(row["question_id"]),
        prompt=prelude_for(starter),
        entry_point=fn_name,
        instruction=instruction,
        examples=examples,
        visible_tests=tests,
        reference=reference,
        metadata={k: row.get(k) for k in ("question_title", "platform", "contest_date", "difficulty", "starter_code")},
    )
    return BenchItem(task, hidden)


def load_livecodebench(path: str | None, *, skipped: list[dict]) -> list[BenchItem]:
    """LiveCodeBench problems: statement and public cases visible; private cases hidden."""
    return load_rows(require_file(path, "livecodebench_jsonl"), _lcb_item, skipped)
