"""`vigor trace show`, `vigor trace stats` and `vigor compare` on real (reference-coder) runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import ConfigError
from engine.inspect_run import compare, stats, task_steps

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
    assert any(s["rule"] == "fallback" for s in data["steps"])
    reasons = {c["reason"] for s in data["steps"] for a in s["attempts"] for c in a["candidates"]}
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
