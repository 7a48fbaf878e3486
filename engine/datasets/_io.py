"""Reading a benchmark's jsonl (or jsonl.gz) file: one row per line, malformed lines skipped."""

from __future__ import annotations

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


def iter_rows(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, raw line) of a .jsonl or .jsonl.gz file; blank lines are left out."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                yield lineno, raw


def load_rows(path: Path, build: Callable[[dict[str, Any]], BenchItem], skipped: list[dict]) -> list[BenchItem]:
    """Every row built into a BenchItem; a line that fails to parse or build lands in `skipped`."""
    items = []
    for lineno, raw in iter_rows(path):
        try:
            row = json.loads(raw)
            if not isinstance(row, dict):
                raise TypeError("a line must hold a JSON object")
            items.append(build(row))
        except _ROW_ERRORS as exc:
            skipped.append({"line": lineno, "error": f"{type(exc).__name__}: {exc}"})
    return items


def json_field(row: dict[str, Any], key: str) -> Any:
    """A field some benchmarks store as a JSON string and others as a JSON value."""
    value = row[key]
    return json.loads(value) if isinstance(value, str) else value
