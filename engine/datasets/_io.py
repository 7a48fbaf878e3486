"""Reading a benchmark's jsonl (or jsonl.gz) file: one row per line, malformed lines skipped."""

from __future__ import annotations

import ast
import gzip
import json
import pickle
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from engine.datasets import BenchItem
from engine.errors import DatasetError

# What a malformed row can raise while it is built; anything else is a bug, not bad data.
_ROW_ERRORS = (
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    SyntaxError,
    pickle.UnpicklingError,
    zlib.error,
)


def require_file(path: str | None, kind: str) -> Path:
    """The dataset file, or a DatasetError naming it (the CLI maps that to exit 2)."""
    if not path:
        raise DatasetError(f"dataset.path: the {kind} adapter needs a path to the benchmark's .jsonl file")
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"dataset file not found: {p}")
    return p


# A row larger than this is skipped unread: nothing a benchmark row needs comes near it, and the
# docstring scan and the parser would take minutes over a multi-megabyte prompt.
MAX_ROW_BYTES = 32 << 20
MAX_PROMPT_CHARS = 200_000


class BadRow(ValueError):
    """A row that cannot become a task; the message names the field and the problem."""


def iter_rows(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line) of a .jsonl or .jsonl.gz file; blank lines are left out.

    A line that is not UTF-8 or longer than MAX_ROW_BYTES comes back as a BadRow instead of
    its text, so the loader can name it and go on.
    """
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        lineno = 0
        while True:
            raw = fh.readline(MAX_ROW_BYTES + 1)
            if not raw:
                return
            lineno += 1
            if len(raw) > MAX_ROW_BYTES and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):  # skip the rest of the oversized line
                    raw = fh.readline(1 << 20)
                yield lineno, BadRow(f"the row is larger than {MAX_ROW_BYTES >> 20} MB")  # type: ignore[misc]
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = BadRow(f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")
                yield lineno, bad  # type: ignore[misc]
                continue
            if text.strip():
                yield lineno, text


def check_item(item: BenchItem) -> None:
    """Raise BadRow naming the field when a built item cannot run as a task."""
    task = item.task
    for name in ("task_id", "prompt", "entry_point", "instruction", "visible_tests"):
        value = getattr(task, name)
        if not isinstance(value, str):
            raise BadRow(f"field {name!r} must be a string (got {type(value).__name__})")
    if not task.task_id.strip():
        raise BadRow("field 'task_id' is empty")
    if task.reference is not None and not isinstance(task.reference, str):
        raise BadRow(f"field 'reference' must be a string (got {type(task.reference).__name__})")
    if not isinstance(item.hidden.test, str):
        raise BadRow(f"the hidden tests must be text (got {type(item.hidden.test).__name__})")
    if len(task.prompt) > MAX_PROMPT_CHARS:
        raise BadRow(f"field 'prompt' is {len(task.prompt):,} characters (at most {MAX_PROMPT_CHARS:,})")
    problem = prompt_problem(task.prompt)
    if problem:
        raise BadRow(f"field 'prompt' does not parse: {problem}")


# Fields that generation reads (and scans for examples) under their names in the supported formats.
_PROMPT_FIELDS = ("prompt", "question", "question_content", "instruction", "complete_prompt", "instruct_prompt")


def _check_sizes(row: dict[str, Any]) -> None:
    """Refuse a prompt too large to scan before anything scans it."""
    for name in _PROMPT_FIELDS:
        value = row.get(name)
        if isinstance(value, str) and len(value) > MAX_PROMPT_CHARS:
            raise BadRow(f"field {name!r} is {len(value):,} characters (at most {MAX_PROMPT_CHARS:,})")


def prompt_problem(prompt: str) -> str | None:
    """Why no code can follow `prompt` (a syntax error it already has), or None when some can.

    A prompt is the start of a program: it parses as it is, or once a body line is added at the
    indentation its last line asks for (a `def` with its docstring, an open block).
    """
    if not prompt.strip():
        return None
    try:
        ast.parse(prompt)
        return None
    except SyntaxError as first:
        error = first
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"{type(exc).__name__}: {exc}"
    last = next(line for line in reversed(prompt.splitlines()) if line.strip())
    indent = last[: len(last) - len(last.lstrip())]
    for body_indent in (indent + "    ", indent):
        try:
            ast.parse(prompt.rstrip("\n") + "\n" + body_indent + "pass\n")
            return None
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    return f"{error.msg} (line {error.lineno})"


def load_rows(path: Path, build: Callable[[dict[str, Any]], BenchItem], skipped: list[dict]) -> list[BenchItem]:
    """Every row built into a BenchItem; a row that fails to read, parse, build or check lands in `skipped`."""
    items = []
    for lineno, raw in iter_rows(path):
        row: Any = None
        try:
            if isinstance(raw, BadRow):
                raise raw
            row = json.loads(raw)
            if not isinstance(row, dict):
                raise BadRow("a line must hold a JSON object")
            _check_sizes(row)
            item = build(row)
            check_item(item)
            items.append(item)
        except BadRow as exc:
            skipped.append({"file": str(path), "line": lineno, "error": str(exc)})
        except _ROW_ERRORS as exc:
            skipped.append({"file": str(path), "line": lineno, "error": _describe(exc, row)})
    return items


def _describe(exc: BaseException, row: Any) -> str:
    """The build error, naming the field when it is a missing one."""
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON ({exc.msg} at column {exc.colno})"
    return f"{type(exc).__name__}: {exc}"


def text_field(row: dict[str, Any], name: str, *, required: bool = True) -> str:
    """A field that must hold text: its value, or BadRow naming it (missing, or of another type)."""
    if name not in row or row[name] is None:
        if required:
            raise BadRow(f"missing field {name!r}")
        return ""
    value = row[name]
    if not isinstance(value, str):
        raise BadRow(f"field {name!r} must be a string (got {type(value).__name__})")
    return value


def json_field(row: dict[str, Any], key: str) -> Any:
    """A field some benchmarks store as a JSON string and others as a JSON value."""
    value = row[key]
    return json.loads(value) if isinstance(value, str) else value
