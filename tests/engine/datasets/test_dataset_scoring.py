"""Scoring programs: the reference passes, a solution that only fits the visible part fails."""

from __future__ import annotations

import base64
import json
import pickle
import zlib
from pathlib import Path

import pytest
from test_dataset_adapters import CASES, _load

from engine.datasets import BenchItem, Hidden
from engine.datasets.livecodebench import decode_private
from engine.datasets.registry import load_items
from engine.datasets.scoring import hidden_program
from engine.errors import DatasetError
from engine.execution.child_tests import child_run_program


def _score(code: str, item: BenchItem) -> dict:
    return child_run_program(hidden_program(code, item.hidden))


def _reference_code(item: BenchItem) -> str:
    prompt = item.task.prompt
    prompt = prompt if not prompt or prompt.endswith("\n") else prompt + "\n"
    return prompt + (item.task.reference or "")


# Per kind: task id -> a solution that passes what the task shows but not what scoring hides.
OVERFITTED: dict[str, tuple[str, str]] = {
    "humanevalplus": ("HumanEval/0", "def add_pair(a, b):\n    return a + b if a < 1000 else 0\n"),
    "mbppplus": ("Mbpp/2", "def similar_elements(a, b):\n    return (4, 5)\n"),
    "apps": ("4001", "s = input()\nprint({'3': 6, '1': 5}[s])\n"),
    "livecodebench_jsonl": ("abc900_a", "input()\nprint(8)\n"),
    "ds1000": ("0", "import numpy as np\na = np.array([[1, 2], [3, 4]])\nresult = np.array([4, 6])\n"),
    "bigcodebench_jsonl": ("BigCodeBench/0", "def task_func(items):\n    return {'a': 2, 'b': 1} if items else {}\n"),
    "jsonl": ("custom/square", "def square(x):\n    return 9\n"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_reference_solutions_pass_their_scoring_program(kind: str) -> None:
    for item in _load(kind):
        assert _score(_reference_code(item), item) == {"passed": True}, item.task.task_id


@pytest.mark.parametrize("kind", sorted(OVERFITTED))
def test_solution_fitting_only_the_visible_cases_fails_scoring(kind: str) -> None:
    task_id, code = OVERFITTED[kind]
    item = next(it for it in _load(kind) if it.task.task_id == task_id)
    assert _score(code, item)["passed"] is False


def test_ds1000_test_string_check_runs_when_code_context_defines_it() -> None:
    item = next(it for it in _load("ds1000") if it.task.task_id == "1")
    loop = "import numpy as np\na = np.array([5, -1, 9])\nresult = a[0]\nfor v in a:\n    result = max(result, v)\n"
    assert _score(loop, item)["passed"] is False


def test_ds1000_task_of_a_missing_library_is_marked_unscorable(tmp_path: Path) -> None:
    row = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "ds1000.jsonl").read_text().splitlines()[0])
    row["metadata"]["library"] = "Tensorflow"
    path = tmp_path / "ds.jsonl"
    path.write_text(json.dumps(row) + "\n")
    pytest.importorskip("numpy")
    try:
        import tensorflow  # noqa: F401

        pytest.skip("tensorflow is installed here")
    except ImportError:
        pass
    (item,) = _load("ds1000", path)
    assert item.task.metadata["scorable"] is False
    result = _score(_reference_code(item), item)
    assert result["passed"] is False and "unscorable" in result["error"]


def test_livecodebench_compressed_private_cases_decode_without_running_code() -> None:
    cases = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    packed = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(cases)))).decode()
    assert decode_private(packed) == cases


def test_livecodebench_refuses_a_pickle_that_references_code() -> None:
    evil = base64.b64encode(zlib.compress(pickle.dumps(print))).decode()
    with pytest.raises(pickle.UnpicklingError):
        decode_private(evil)


def test_generic_jsonl_rejects_an_unknown_field_role(tmp_path: Path) -> None:
    from test_dataset_adapters import FIXTURES, _config

    config = _config("jsonl", FIXTURES / "generic.jsonl", fields={"solution_text": "x"})
    with pytest.raises(DatasetError, match="dataset.fields"):
        load_items(config.dataset)


def test_humaneval_still_loads_from_the_installed_package_without_a_path() -> None:
    from engine.config import parse_config

    items = load_items(parse_config({"dataset": {"kind": "humaneval"}}, source="test").dataset)
    assert len(items) == 164 and items[0].hidden.kind == "check_function"


def test_unknown_hidden_kind_has_no_scorer() -> None:
    from engine.errors import ConfigError

    with pytest.raises(ConfigError):
        hidden_program("pass", Hidden("nope"))


def test_evaluate_counts_unscorable_tasks_apart(tmp_path: Path) -> None:
    import asyncio

    from test_dataset_adapters import _config

    from engine.runs.evaluate import evaluate_run
    from engine.runs.runner import run_items

    pytest.importorskip("numpy")
    try:
        import tensorflow  # noqa: F401

        pytest.skip("tensorflow is installed here")
    except ImportError:
        pass
    row = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "ds1000.jsonl").read_text().splitlines()[0])
    other = json.loads(json.dumps(row))
    other["metadata"].update(problem_id=1, library="Tensorflow")
    path = tmp_path / "ds.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps(other) + "\n")
    config = _config("ds1000", path)
    run_dir = tmp_path / "run"
    asyncio.run(run_items(load_items(config.dataset), config, run_dir))
    summary = asyncio.run(evaluate_run(run_dir))
    assert (summary["passed"], summary["tasks"], summary["unscorable"]) == (1, 2, 1)
    assert summary["pass@1"] == 0.5 and summary["pass@1_scorable"] == 1.0
