"""Every dataset adapter on its fixture: loading, hidden-test hygiene, bad input, end to end."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from engine.config import parse_config
from engine.datasets import BenchItem
from engine.datasets.registry import load_items
from engine.errors import DatasetError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

GENERIC_FIELDS = {
    "id": "name",
    "prompt": "code",
    "entry_point": "fn",
    "tests": "public",
    "hidden_tests": "secret",
    "reference": "solution",
}

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "humanevalplus": ("humanevalplus.jsonl", {}),
    "mbppplus": ("mbppplus.jsonl", {}),
    "apps": ("apps.jsonl", {}),
    "ds1000": ("ds1000.jsonl", {}),
    "livecodebench_jsonl": ("livecodebench.jsonl", {}),
    "bigcodebench_jsonl": ("bigcodebench.jsonl", {}),
    "jsonl": ("generic.jsonl", {"fields": GENERIC_FIELDS}),
}

# Strings that live only in the hidden part of each fixture; none may reach a Task.
HIDDEN_MARKERS: dict[str, list[str]] = {
    "humanevalplus": ["1000003", "31337", "candidate(20, 22)"],
    "mbppplus": ["(1, 2, 3, 4)", "(11, 12, 14, 13)", "is_not_prime(35)", "7919"],
    "apps": ["10 20 30 40", "-7 7", "[1, 100, 50]", "zebra"],
    "ds1000": ["generate_test_case", "np.arange(12)", "exec_test"],
    "livecodebench_jsonl": ["21\\n", "42", "[7, 9]", "[8, 8, 8, 13]"],
    "bigcodebench_jsonl": ["hidden_probe_773", "TestCases", "x881"],
    "jsonl": ["144", "hidden-probe-5150"],
}


def _config(kind: str, path: Path, **extra: Any) -> Any:
    return parse_config(
        {"coder": {"kind": "reference"}, "dataset": {"kind": kind, "path": str(path), **extra}},
        source="test",
    )


def _load(kind: str, path: Path | None = None, skipped: list[dict] | None = None) -> list[BenchItem]:
    name, extra = CASES[kind]
    return load_items(_config(kind, path or FIXTURES / name, **extra).dataset, skipped=skipped)


def _task_text(item: BenchItem) -> str:
    fields = dataclasses.asdict(item.task)
    fields.pop("reference")  # the reference solution is the reference coder's, not a test
    return json.dumps(fields, default=str)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_adapter_loads_every_task_of_its_fixture(kind: str) -> None:
    skipped: list[dict] = []
    items = _load(kind, skipped=skipped)
    assert len(items) >= 2 and not skipped
    assert len({it.task.task_id for it in items}) == len(items)
    assert all(it.task.reference for it in items)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_hidden_tests_never_appear_in_any_task_field(kind: str) -> None:
    text = " ".join(_task_text(it) for it in _load(kind))
    for marker in HIDDEN_MARKERS[kind]:
        assert marker not in text, marker


@pytest.mark.parametrize("kind", sorted(CASES))
def test_malformed_line_is_skipped_with_its_line_number(kind: str, tmp_path: Path) -> None:
    lines = (FIXTURES / CASES[kind][0]).read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([lines[0], "{not json", '{"task_id": "x"}', *lines[1:]]) + "\n", encoding="utf-8")
    skipped: list[dict] = []
    items = _load(kind, bad, skipped)
    assert len(items) == len(lines)
    assert [s["line"] for s in skipped] == [2, 3]


@pytest.mark.parametrize("kind", sorted(CASES))
def test_missing_path_raises_dataset_error_naming_it(kind: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(DatasetError, match="nowhere.jsonl"):
        _load(kind, missing)


@pytest.mark.parametrize("kind", ["humanevalplus", "apps"])
def test_gzipped_file_reads_like_the_plain_one(kind: str, tmp_path: Path) -> None:
    gz = tmp_path / "data.jsonl.gz"
    gz.write_bytes(gzip.compress((FIXTURES / CASES[kind][0]).read_bytes()))
    assert [it.task for it in _load(kind, gz)] == [it.task for it in _load(kind)]


@pytest.mark.parametrize("kind", sorted(CASES))
def test_reference_run_of_fixture_scores_pass_at_1(kind: str, tmp_path: Path) -> None:
    from engine.runs.evaluate import evaluate_run
    from engine.runs.runner import run_items

    name, extra = CASES[kind]
    config = _config(kind, FIXTURES / name, **extra)
    items = load_items(config.dataset)
    run_dir = tmp_path / "run"
    summary = asyncio.run(run_items(items, config, run_dir))
    assert [r["status"] for r in summary.results] == ["completed"] * len(items), summary.results
    scored = asyncio.run(evaluate_run(run_dir))
    assert scored["pass@1"] == 1.0, (run_dir / "evaluation" / "results.jsonl").read_text()
