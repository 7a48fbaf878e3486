"""The `vigor` command end to end: run directories, evaluation, bad input, no secrets on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import ROOT, vigor
from scripted_llm import Reply, ScriptedLLM, user_code

from engine.cli import main

SECRET = "sk-e2e-secret-value-0123456789"


def test_reference_run_writes_the_run_directory_and_scores_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = vigor(
        "run",
        "--config",
        "configs/humaneval-reference.yaml",
        "--tasks",
        "HumanEval/0",
        "HumanEval/47",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("run_manifest.json", "results.jsonl", "trace.jsonl", "gate_report.json"):
        assert (out / name).is_file(), name
    assert sorted(p.name for p in (out / "trace_html").iterdir()) == ["HumanEval_0.html", "HumanEval_47.html"]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["task_id"] for r in rows) == ["HumanEval/0", "HumanEval/47"]
    report = json.loads((out / "gate_report.json").read_text())
    assert report["reference_rejected"] == {"HumanEval/47": 1}
    assert report["kinds"]["syntax"]["rate"] == 1.0
    assert "pass@1 (hidden tests): 1.000" in proc.stderr
    summary = json.loads((out / "evaluation" / "summary.json").read_text())
    assert summary["pass@1"] == 1.0 and summary["passed"] == 2


def test_evaluate_prints_pass_at_1_for_an_existing_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert (
        vigor(
            "run",
            "--config",
            "configs/humaneval-reference.yaml",
            "--tasks",
            "HumanEval/2",
            "--out",
            str(out),
            "--no-evaluate",
        ).returncode
        == 0
    )
    proc = vigor("evaluate", "--run-dir", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "pass@1: 1.0000 (1/1)" in proc.stdout
    exported = json.loads((out / "evaluation" / "humaneval_samples.jsonl").read_text().splitlines()[0])
    assert set(exported) == {"task_id", "completion"}


def test_unknown_config_key_is_one_line_naming_the_key_path_and_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("coder:\n  kind: reference\n  candidates: 5\n")
    proc = vigor("run", "--config", str(cfg), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "coder.candidates: unknown key" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_wrong_type_names_the_key_path_and_the_expected_type(tmp_path: Path) -> None:
    proc = vigor(
        "run",
        "--config",
        "configs/humaneval-reference.yaml",
        "--set",
        "context.run_policy.max_steps=lots",
        "--out",
        str(tmp_path / "run"),
    )
    assert proc.returncode == 2
    assert "context.run_policy.max_steps" in proc.stderr and "integer" in proc.stderr


def test_openai_coder_without_a_key_names_the_environment_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "run",
            "--config",
            str(ROOT / "configs/humaneval-local.yaml"),
            "--limit",
            "1",
            "--set",
            "llm.provider=openai",
            "--set",
            "llm.base_url=https://api.example.invalid/v1",
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "OPENAI_API_KEY" in proc.stderr


def test_malformed_answer_ends_that_task_with_error_and_the_run_goes_on(
    tmp_path: Path, scripted_llm: ScriptedLLM, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.datasets.humaneval import load_humaneval

    items = {it.task.task_id: it.task for it in load_humaneval()[:2]}

    def respond(request: dict) -> Reply:
        prefix = user_code(request)
        if prefix == items["HumanEval/0"].prompt:
            return Reply(raw_body='{"choices": [{"message": {}}]}')
        task = items["HumanEval/1"]
        return Reply(["```python\n" + (task.reference or "") + "```"])

    scripted_llm.responder = respond
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--config",
            str(ROOT / "configs/humaneval-local.yaml"),
            "--limit",
            "2",
            "--out",
            str(out),
            "--set",
            "llm.provider=openai",
            "--set",
            f"llm.base_url={scripted_llm.base_url}",
            "--set",
            "llm.max_retries=0",
        ]
    )
    assert code == 0
    rows = {json.loads(line)["task_id"]: json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()}
    assert rows["HumanEval/0"]["status"] == "error" and "malformed" in rows["HumanEval/0"]["reason"]
    assert rows["HumanEval/1"]["status"] == "completed"
    errors = [json.loads(line) for line in (out / "trace.jsonl").read_text().splitlines() if '"error"' in line]
    assert any(e["event"] == "error" and e["task_id"] == "HumanEval/0" for e in errors)
    # The key was in the environment the whole run: it is in no file the run wrote.
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path
