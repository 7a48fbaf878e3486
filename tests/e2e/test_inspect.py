"""`vigor trace show`, `vigor trace stats` and `vigor compare` on real (reference-coder) runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scripted_llm import Reply, ScriptedLLM

from engine.cli import main
from engine.errors import ConfigError
from engine.runs.inspect import compare, stats, task_steps

ROOT = Path(__file__).resolve().parents[2]
TASKS = ["HumanEval/0", "HumanEval/47", "HumanEval/53"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("runs")
    guided, oneshot = base / "guided", base / "oneshot"
    config = str(ROOT / "configs/humaneval-reference.yaml")
    assert main(["run", "--config", config, "--tasks", *TASKS, "--out", str(guided)]) == 0
    assert (
        main(["run", "--config", config, "--tasks", *TASKS, "--out", str(oneshot), "--set", "coder.mode=oneshot"]) == 0
    )
    return guided, oneshot


def test_show_lists_every_step_of_a_task_with_its_verdicts(runs: tuple[Path, Path]) -> None:
    data = task_steps(runs[0], "HumanEval/47")
    assert data["end"]["status"] == "completed"
    assert any(s.rule == "fallback" for s in data["steps"])
    reasons = {c.reason for s in data["steps"] for a in s.attempts for c in a.candidates}
    assert {"parse.invalid", "exec.wrong_return"} <= reasons
    with pytest.raises(ConfigError, match="not in the run"):
        task_steps(runs[0], "HumanEval/999")


def test_stats_count_rejections_by_gate_and_reason(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    data = stats(runs[0])
    by = {(r["gate"], r["reason"]): r["count"] for r in data["rejections"]}
    assert by[("language", "parse.invalid")] > 0
    assert sum(by.values()) <= data["candidates"]
    assert sorted(t["task_id"] for t in data["tasks"]) == sorted(TASKS)
    assert main(["trace", "stats", str(runs[0])]) == 0
    assert "parse.invalid" in capsys.readouterr().out


def test_compare_puts_guided_beside_oneshot(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    data = compare(*runs)
    assert data["common_tasks"] == 3
    assert data["a"]["pass@1"] == data["b"]["pass@1"] == 1.0
    assert data["only_a"] == data["only_b"] == []
    assert main(["compare", str(runs[0]), str(runs[1])]) == 0
    assert "pass@1" in capsys.readouterr().out


def test_trace_html_page_is_self_contained_and_shows_each_step(runs: tuple[Path, Path]) -> None:
    page = (runs[0] / "trace_html" / "HumanEval_47.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "exec.wrong_return" in page and "fallback" in page and "draft hits" in page
    assert page.count("<details") == len(task_steps(runs[0], "HumanEval/47")["steps"])


def test_compare_names_the_step_where_the_gates_changed_the_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scripted_llm: ScriptedLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    # The greedy answer is wrong (x - y); sampled answers are right. One-shot keeps the greedy answer,
    # VIGOR's Evaluator rejects it on the docstring example and commits a sampled line.
    monkeypatch.setenv("VIGOR_TEST_KEY", "k")

    def respond(request: dict) -> Reply:
        n = int(request.get("n") or 1)
        body = "    return x + y" if request.get("temperature", 0) > 0 else "    return x - y"
        return Reply([f"```python\n{body}\n```"] * n)

    scripted_llm.responder = respond
    common = [
        "--config", str(ROOT / "configs/humaneval-local.yaml"), "--tasks", "HumanEval/53",
        "--set", "llm.provider=openai", "--set", f"llm.base_url={scripted_llm.base_url}",
        "--set", "llm.api_key_env=VIGOR_TEST_KEY", "--set", "llm.model=scripted",
    ]  # fmt: skip
    guided, oneshot = tmp_path / "guided", tmp_path / "oneshot"
    assert main(["run", *common, "--out", str(guided)]) == 0
    assert main(["run", *common, "--out", str(oneshot), "--set", "coder.mode=oneshot"]) == 0
    for run in (guided, oneshot):
        assert main(["evaluate", "--run-dir", str(run)]) == 0
    data = compare(guided, oneshot)
    assert (data["only_a"], data["only_b"]) == (["HumanEval/53"], [])
    (diff,) = data["differences"]
    assert (diff["line"], diff["a_line"], diff["b_line"]) == (1, "    return x + y", "    return x - y")
    step = diff["a_step"]
    assert step["step"] == 0 and step["committed"] == "    return x + y" and "b_step" not in diff
    # One ask: the greedy draft's final code fails the example, so the same ask repairs it with samples
    assert (step["draft_hit"], step["asks"]) == (False, 1)
    # the greedy draft's line is gated beside the samples' and rejected
    assert [(r["text"], r["reason"]) for r in step["rejected"]] == [("    return x - y", "exec.wrong_return")]
    capsys.readouterr()
    assert main(["compare", str(guided), str(oneshot), "--json", str(tmp_path / "cmp.json")]) == 0
    out = capsys.readouterr().out
    assert "HumanEval/53 (solved by A): the codes part at completion line 1" in out and "exec.wrong_return" in out
    assert json.loads((tmp_path / "cmp.json").read_text())["differences"][0]["task_id"] == "HumanEval/53"
