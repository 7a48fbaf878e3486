"""HumanEval+ and MBPP+ scored by evalplus's rules: one test per rule, each on rows written in the
rule's own shape (the fields of evalplus's release files: prompt, contract, canonical_solution,
base_input, plus_input, atol, entry_point, assertion)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from engine.config import parse_config
from engine.datasets import BenchItem
from engine.datasets.registry import load_items
from engine.datasets.scoring import HUMAN_EVAL_TIMEOUT_S, hidden_program, job_timeout_s
from engine.execution import plus_rules
from engine.execution.child_tests import child_run_program


def _mbpp_row(task_id: str, entry: str, canonical: str, base: list, plus: list | None = None, **more: Any) -> dict:
    """A row as MBPP+ publishes it: the prompt is the description in quotes, the asserts in `assertion`."""
    return {
        "task_id": task_id,
        "prompt": f'"""\nTask {task_id}.\n"""\n',
        "entry_point": entry,
        "canonical_solution": canonical,
        "contract": "",
        "base_input": base,
        "plus_input": plus or [],
        "atol": 0,
        "assertion": more.pop("assertion", f"assert {entry}(*{json.dumps(base[0])}) is not None"),
        **more,
    }


def _he_row(task_id: str, entry: str, prompt: str, canonical: str, base: list, **more: Any) -> dict:
    return {
        "task_id": task_id,
        "prompt": prompt,
        "entry_point": entry,
        "canonical_solution": canonical,
        "contract": "",
        "base_input": base,
        "plus_input": [],
        "atol": 0,
        **more,
    }


def _load(tmp_path: Path, kind: str, rows: list[dict]) -> list[BenchItem]:
    path = tmp_path / f"{kind}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return load_items(parse_config({"dataset": {"kind": kind, "path": str(path)}}).dataset)


def _score(code: str, item: BenchItem) -> dict:
    return child_run_program(hidden_program(code, item.hidden))


def _canonical(item: BenchItem) -> str:
    return item.hidden.extra["reference"]


def test_published_asserts_are_not_run_only_the_inputs_judge(tmp_path: Path) -> None:
    # Mbpp/164's shape: the canonical solution contradicts the task's own assert.
    row = _mbpp_row(
        "Mbpp/9001", "double", "def double(x):\n    return 2 * x\n", [[1]], [[5]], assertion="assert double(1) == 3"
    )
    (item,) = _load(tmp_path, "mbppplus", [row])
    assert _score(_canonical(item), item) == {"passed": True}
    assert _score("def double(x):\n    return 3 if x == 1 else 2 * x\n", item)["passed"] is False


def test_assertion_imports_reach_the_visible_tests(tmp_path: Path) -> None:
    # Mbpp/98's shape: `assertion` starts with the import its asserts need (math.isclose).
    row = _mbpp_row(
        "Mbpp/98",
        "mean2",
        "def mean2(xs):\n    return sum(xs) / len(xs)\n",
        [[[1.0, 2.0]]],
        assertion="import math\nassert math.isclose(mean2([1.0, 2.0]), 1.5, rel_tol=0.001)\n"
        "assert math.isclose(mean2([2.0]), 2.0, rel_tol=0.001)",
    )
    (item,) = _load(tmp_path, "mbppplus", [row])
    assert item.task.visible_tests.startswith("import math\n")
    assert "math.isclose(mean2([2.0])" not in item.task.visible_tests


def test_canonical_solution_runs_after_its_prompt_with_the_prompt_imports(tmp_path: Path) -> None:
    prompt = 'import math\n\n\ndef hyp(a: float, b: float) -> float:\n    """Hypotenuse."""\n'
    row = _he_row("HumanEval/9002", "hyp", prompt, "    return math.sqrt(a * a + b * b)\n", [[3.0, 4.0]])
    (item,) = _load(tmp_path, "humanevalplus", [row])
    assert _score(prompt + row["canonical_solution"], item) == {"passed": True}


def test_contract_is_not_part_of_the_canonical_program(tmp_path: Path) -> None:
    # A contract guards input generation; evalplus runs prompt + canonical_solution without it.
    prompt = 'def half(n: int) -> float:\n    """Half of n."""\n'
    contract = '\n    assert n > 100, "invalid inputs" # $_CONTRACT_$\n'
    row = _he_row("HumanEval/9003", "half", prompt, "    return n / 2\n", [[4]], contract=contract)
    (item,) = _load(tmp_path, "humanevalplus", [row])
    assert "CONTRACT" not in _canonical(item)
    assert _score(prompt + "    return n / 2\n", item) == {"passed": True}


def test_mbpp_inputs_stored_as_lists_reach_the_code_as_tuples(tmp_path: Path) -> None:
    # Mbpp/106's shape: a list and a tuple; the JSON keeps both as lists.
    canonical = "def add_lists(test_list, test_tup):\n    return test_tup + tuple(test_list)\n"
    row = _mbpp_row("Mbpp/106", "add_lists", canonical, [[[5, 6], [9, 10]]], [[[1], [2, 3]]])
    (item,) = _load(tmp_path, "mbppplus", [row])
    assert _score(canonical, item) == {"passed": True}
    assert plus_rules.mbpp_inputs("Mbpp/106", [[[5], [9, 10]]]) == [[[5], (9, 10)]]
    assert plus_rules.mbpp_inputs("Mbpp/580", [[[1, [2, 3]]]]) == [((1, (2, 3)),)]


def test_mbpp_inputs_stored_as_strings_reach_the_code_as_complex_numbers(tmp_path: Path) -> None:
    # Mbpp/124's shape: a real and an imaginary part, written as strings.
    canonical = "import cmath\ndef angle_complex(a, b):\n    return cmath.phase(a + b)\n"
    row = _mbpp_row("Mbpp/124", "angle_complex", canonical, [["0", "1j"]], [["2", "3j"]])
    (item,) = _load(tmp_path, "mbppplus", [row])
    assert plus_rules.mbpp_inputs("Mbpp/124", [["0", "1j"]]) == [(0.0, 1j)]
    assert _score(canonical, item) == {"passed": True}


def test_set_equal_tasks_accept_any_order(tmp_path: Path) -> None:
    canonical = "def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n"
    row = _mbpp_row("Mbpp/2", "similar_elements", canonical, [[[3, 4, 5, 6], [5, 7, 4, 10]]])
    (item,) = _load(tmp_path, "mbppplus", [row])
    reordered = "def similar_elements(a, b):\n    return tuple(sorted(set(a) & set(b), reverse=True))\n"
    assert _score(reordered, item) == {"passed": True}
    assert _score("def similar_elements(a, b):\n    return (4,)\n", item)["passed"] is False


def test_not_none_tasks_compare_only_whether_something_was_returned(tmp_path: Path) -> None:
    # Mbpp/737's shape: the canonical solution returns a re.Match, which never equals another one.
    canonical = "import re\ndef check_str(s):\n    return re.search('^[aeiouAEIOU][A-Za-z0-9_]*', s)\n"
    row = _mbpp_row("Mbpp/737", "check_str", canonical, [["annie"], ["dawood"]])
    (item,) = _load(tmp_path, "mbppplus", [row])
    assert _score(canonical, item) == {"passed": True}
    as_bool = "def check_str(s):\n    return s[0] in 'aeiouAEIOU'\n"
    assert _score(as_bool, item) == {"passed": True}
    assert _score("def check_str(s):\n    return s\n", item)["passed"] is False  # never None


@pytest.mark.parametrize(
    ("entry", "canonical", "other", "args"),
    [
        ("are_equivalent", "def are_equivalent(a, b):\n    return a == b\n", "return 'anything'", [1, 2]),
        ("sum_div", "def sum_div(n):\n    return n + 1\n", "return 0", [6]),
        ("surface_Area", "def surface_Area(b, s):\n    return 2 * b * s + b * b\n", "return 90", [5, 6]),
        ("digit_distance_nums", "def digit_distance_nums(a, b):\n    return -1\n", "return 7", [123, 256]),
    ],
)
def test_mbpp_special_oracles_accept_their_other_answer(
    tmp_path: Path, entry: str, canonical: str, other: str, args: list
) -> None:
    row = _mbpp_row("Mbpp/9100", entry, canonical, [args], atol=1e-4 if entry == "surface_Area" else 0)
    (item,) = _load(tmp_path, "mbppplus", [row])
    params = ", ".join(f"p{i}" for i in range(len(args)))
    assert _score(f"def {entry}({params}):\n    {other}\n", item) == {"passed": True}


def test_find_zero_accepts_any_root_within_atol(tmp_path: Path) -> None:
    prompt = (
        "import math\n\n\ndef poly(xs: list, x: float):\n    return sum(c * math.pow(x, i) for i, c in enumerate(xs))\n"
        '\n\ndef find_zero(xs: list):\n    """A zero of poly(xs)."""\n'
    )
    canonical = "    return 2.0\n"  # (x - 2)(x + 3) = x^2 + x - 6: the canonical solution finds 2
    row = _he_row("HumanEval/32", "find_zero", prompt, canonical, [[[-6, 1, 1]]], atol=1e-4)
    (item,) = _load(tmp_path, "humanevalplus", [row])
    assert _score(prompt + "    return -3.0\n", item) == {"passed": True}
    assert _score(prompt + "    return 1.0\n", item)["passed"] is False


def test_floats_get_a_tolerance_and_types_must_agree(tmp_path: Path) -> None:
    canonical = "def third(x):\n    return x / 3\n"
    row = _mbpp_row("Mbpp/9200", "third", canonical, [[1.0], [2.0]])
    (item,) = _load(tmp_path, "mbppplus", [row])
    assert _score("def third(x):\n    return x / 3 + 1e-9\n", item) == {"passed": True}
    assert _score("def third(x):\n    return round(x / 3, 3)\n", item)["passed"] is False
    comparison = plus_rules.Comparison("mbpp", "f", 0.0)
    assert comparison.matches([1], 1, 1.0) is True  # equal: no tolerance needed
    assert plus_rules.Comparison("mbpp", "f", 0.1).matches([1], [1.05], (1.0,)) is False  # list vs tuple


def test_atol_from_the_row_widens_the_tolerance(tmp_path: Path) -> None:
    canonical = "def area(r):\n    return 3.14159 * r * r\n"
    row = _mbpp_row("Mbpp/9300", "area", canonical, [[1.0]], atol=1e-4)
    (item,) = _load(tmp_path, "mbppplus", [row])
    assert _score("def area(r):\n    return 3.14161 * r * r\n", item) == {"passed": True}
    assert _score("def area(r):\n    return 3.1 * r * r\n", item)["passed"] is False


def test_tolerance_without_numpy_matches_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    numpy = pytest.importorskip("numpy")
    cases = [(1.0, 1.0 + 5e-7, 1e-6), ([1.0, 2.0], [1.0, 2.00001], 1e-6), ([1.0, 2.0], [1.0, 2.00001], 1e-4)]
    wanted = [bool(numpy.allclose(a, e, rtol=1e-7, atol=t)) for a, e, t in cases]
    assert [plus_rules.allclose(a, e, t) for a, e, t in cases] == wanted == [True, False, True]
    real_import = builtins.__import__

    def no_numpy(name: str, *args: Any, **kw: Any) -> Any:
        if name == "numpy":
            raise ImportError(name)
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_numpy)
    assert [plus_rules.allclose(a, e, t) for a, e, t in cases] == wanted


def test_time_limit_is_four_times_the_canonical_time_and_at_least_a_second() -> None:
    assert plus_rules.time_limits([0.001, 0.5]) == [1.0, 2.0]


def test_slow_canonical_solution_buys_the_solution_time(tmp_path: Path) -> None:
    # The canonical solution takes 0.5 s on the input: the solution gets 2 s, not 1 s.
    slow = "import time\ndef work(n):\n    time.sleep(0.5)\n    return n\n"
    fast = "def work(n):\n    return n\n"
    solution = "import time\ndef work(n):\n    time.sleep(1.4)\n    return n\n"
    (slow_item,) = _load(tmp_path, "mbppplus", [_mbpp_row("Mbpp/9400", "work", slow, [[1]])])
    assert _score(solution, slow_item) == {"passed": True}
    (fast_item,) = _load(tmp_path, "mbppplus", [_mbpp_row("Mbpp/9401", "work", fast, [[1]])])
    result = _score(solution, fast_item)
    assert result["passed"] is False and "timeout" in result["error"]


def test_canonical_solution_that_fails_makes_the_task_unscorable(tmp_path: Path) -> None:
    row = _mbpp_row("Mbpp/9500", "boom", "def boom(x):\n    return 1 / 0\n", [[1]])
    (item,) = _load(tmp_path, "mbppplus", [row])
    result = _score("def boom(x):\n    return 1\n", item)
    assert result["passed"] is False and result["error"].startswith("RuntimeError: unscorable")


def test_solution_without_the_entry_point_fails(tmp_path: Path) -> None:
    (item,) = _load(tmp_path, "mbppplus", [_mbpp_row("Mbpp/9600", "f", "def f(x):\n    return x\n", [[1]])])
    result = _score("def g(x):\n    return x\n", item)
    assert result["passed"] is False and "does not load" in result["error"]


def test_scoring_allows_evalplus_memory(tmp_path: Path) -> None:
    # Mbpp/255's shape: a large output. 1.2 GiB is over the generation sandbox's 1 GiB, under evalplus's 4.
    from engine.execution.sandbox import Sandbox
    from engine.runs.evaluate import SCORING_CPU_S, SCORING_MEMORY_MB, score_task

    canonical = "def big(n):\n    return len(bytearray(n * 2**20))\n"
    (item,) = _load(tmp_path, "mbppplus", [_mbpp_row("Mbpp/255", "big", canonical, [[1200]])])

    async def main() -> dict:
        async with Sandbox(memory_mb=SCORING_MEMORY_MB, cpu_s=SCORING_CPU_S) as sandbox:
            return await score_task(sandbox, {"task_id": "Mbpp/255", "code": canonical}, item, None)

    assert asyncio.run(main())["passed"] is True


def test_human_eval_programs_get_the_harness_timeout(tmp_path: Path) -> None:
    from engine.datasets.humaneval import load_humaneval
    from engine.execution.sandbox import Sandbox
    from engine.runs.evaluate import score_task

    item = load_humaneval()[0]
    assert job_timeout_s(item.hidden, None) == HUMAN_EVAL_TIMEOUT_S
    code = item.task.prompt + "    import time\n    time.sleep(4)\n    return False\n"

    async def main() -> dict:
        async with Sandbox() as sandbox:
            return await score_task(sandbox, {"task_id": item.task.task_id, "code": code}, item, None)

    assert asyncio.run(main()) == {"task_id": item.task.task_id, "passed": False, "error": "timeout"}


def test_a_prompt_quoted_with_single_quotes_and_no_final_newline_loads(tmp_path: Path) -> None:
    # MBPP+'s first releases quote the description with ''' and end without a newline.
    row = _mbpp_row("Mbpp/9700", "inc", "\ndef inc(x):\n    return x + 1\n", [[1]], [[41]])
    row["prompt"] = "'''\nWrite a function to add one.\nassert inc(1) == 2\n'''"
    (item,) = _load(tmp_path, "mbppplus", [row])
    assert item.task.instruction == "Write a function to add one."
    assert _score("def inc(x):\n    return x + 1\n", item) == {"passed": True}


def test_the_solution_starts_afresh_for_the_plus_inputs(tmp_path: Path) -> None:
    # evalplus runs base and plus in two processes: module state does not carry over.
    canonical = "def first_call(x):\n    return 1\n"
    row = _mbpp_row("Mbpp/9800", "first_call", canonical, [[0]], [[0]])
    (item,) = _load(tmp_path, "mbppplus", [row])
    stateful = "calls = []\ndef first_call(x):\n    calls.append(x)\n    return len(calls)\n"
    assert _score(stateful, item) == {"passed": True}
