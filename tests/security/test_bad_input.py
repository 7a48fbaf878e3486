"""Bad input through the `vigor` command: one line naming the file, the line and the field; no hang, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "task_id": "T/0",
    "prompt": 'def f(x):\n    """\n    >>> f(1)\n    2\n    """\n',
    "entry_point": "f",
    "canonical_solution": "    return x + 1\n",
    "test": "def check(candidate):\n    assert candidate(1) == 2\n",
}


def vigor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


def run_on(path: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return vigor(
        "run",
        "--config",
        "configs/humaneval-reference.yaml",
        "--set",
        f"dataset.path={path}",
        "--out",
        str(tmp_path / "run"),
        "--no-evaluate",
        *extra,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


BAD_ROWS = {
    "not UTF-8": (b'{"task_id": "T/1", "prompt": "\xff\xfe"}', "line 2: not UTF-8"),
    "prompt of the wrong type": (
        json.dumps({**GOOD, "task_id": "T/1", "prompt": 5}).encode(),
        "field 'prompt' must be a string",
    ),
    "test missing": (json.dumps({k: v for k, v in GOOD.items() if k != "test"}).encode(), "missing field 'test'"),
    "prompt that does not parse": (
        json.dumps({**GOOD, "task_id": "T/1", "prompt": "def f(x:\n"}).encode(),
        "field 'prompt' does not parse",
    ),
    "huge prompt": (
        json.dumps({**GOOD, "task_id": "T/1", "prompt": "#" * 50_000_000}).encode(),
        "line 2: the row is larger",
    ),
    "not an object": (b"[1, 2, 3]", "must hold a JSON object"),
    "large prompt": (
        json.dumps({**GOOD, "task_id": "T/1", "prompt": 'def f(x):\n    """' + ">>> f(1)\n" * 300_000}).encode(),
        "field 'prompt' is 2,700,017 characters",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_bad_row_is_named_and_skipped_and_the_good_one_runs(case: str, tmp_path: Path) -> None:
    row, message = BAD_ROWS[case]
    data = tmp_path / "data.jsonl"
    data.write_bytes(json.dumps(GOOD).encode() + b"\n" + row + b"\n")
    proc = run_on(data, tmp_path)
    err = one_error_line(proc)
    assert proc.returncode == 0, err
    assert f"dataset {data} line 2" in err.replace("\n", " ") or message in err
    assert message in err
    rows = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert [json.loads(r)["task_id"] for r in rows] == ["T/0"]


def test_a_file_with_no_usable_row_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({"task_id": 7, "prompt": 12345, "hidden_tests": 7, "entry_point": "f"}) + "\n")
    proc = vigor(
        "run",
        "--config",
        "configs/humaneval-reference.yaml",
        "--set",
        "dataset.kind=jsonl",
        "--set",
        f"dataset.path={data}",
        "--out",
        str(tmp_path / "run"),
        "--no-evaluate",
    )
    err = one_error_line(proc)
    assert proc.returncode == 2
    assert "line 1: field 'hidden_tests' must be a string (got int)" in err and str(data) in err


def test_a_row_without_reference_under_the_reference_coder_ends_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text(json.dumps({k: v for k, v in GOOD.items() if k != "canonical_solution"}) + "\n")
    proc = run_on(data, tmp_path)
    err = one_error_line(proc)
    assert proc.returncode == 2 and "reference" in err and "T/0" in err


@pytest.mark.parametrize("setting", ["output.name=../../x", "output.dir=../../y"])
def test_output_paths_cannot_climb_out(setting: str, tmp_path: Path) -> None:
    proc = vigor(
        "run", "--config", "configs/humaneval-reference.yaml", "--set", setting, "--limit", "1", "--no-evaluate"
    )
    err = one_error_line(proc)
    assert proc.returncode == 2 and setting.split("=")[0] in err
    assert not (ROOT.parent.parent / "x").exists() and not (ROOT.parent.parent / "y").exists()


def test_hidden_tests_that_could_never_fail_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    rows = [
        {"task_id": "a", "prompt": "def f(x):\n    pass\n", "entry_point": "f", "hidden_tests": "7"},
        {"task_id": "b", "prompt": "def f(x):\n    pass\n", "entry_point": "f", "hidden_tests": "assert f(1) == 2"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = vigor(
        "run",
        "--config",
        "configs/humaneval-reference.yaml",
        "--set",
        "dataset.kind=jsonl",
        "--set",
        f"dataset.path={data}",
        "--set",
        "coder.kind=reference",
        "--out",
        str(tmp_path / "run"),
        "--no-evaluate",
    )
    err = one_error_line(proc)
    assert "line 1: field 'hidden_tests' has no assert, raise or check(): it could never fail" in err
