"""A run killed with -9 mid-way and resumed ends with every task exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TASKS = 40


def start(out: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "run",
            "--config",
            "configs/humaneval-reference.yaml",
            "--limit",
            str(TASKS),
            "--out",
            str(out),
            "--no-evaluate",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def test_killed_run_resumes_without_losing_or_duplicating_a_task(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = start(out, "--set", "runner.concurrency=4")
    deadline = time.monotonic() + 120
    while len(lines(out / "results.jsonl")) < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(lines(out / "results.jsonl"))
    assert 0 < before < TASKS

    resumed = start(out, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err

    ids = [json.loads(line)["task_id"] for line in lines(out / "results.jsonl")]
    assert len(ids) == TASKS and len(set(ids)) == TASKS
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["resumed"] is True
    for line in lines(out / "trace.jsonl"):
        json.loads(line)  # no torn or glued line survives the resume


def test_resume_without_a_run_directory_is_a_one_line_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "run", "--config", "configs/humaneval-reference.yaml", "--resume"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "--resume needs --out" in proc.stderr
