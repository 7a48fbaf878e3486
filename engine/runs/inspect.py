"""Reading finished runs for people: one task's steps, run-wide statistics, two runs side by side.

Pure functions over a run directory's files (trace.jsonl, results.jsonl, evaluation/); the CLI
renders what they return (`vigor trace show`, `vigor trace stats`, `vigor compare`).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.loop.records import StepRecord
from engine.runs.runner import read_results
from engine.trace import read_trace


def _run_dir(path: str | Path) -> Path:
    run_dir = Path(path)
    if not (run_dir / "trace.jsonl").is_file():
        raise ConfigError(f"not a run directory (no trace.jsonl): {run_dir}")
    return run_dir


def task_steps(run_dir: str | Path, task_id: str) -> dict[str, Any]:
    """The step records (typed) and the end event of one task, in order."""
    every = read_trace(_run_dir(run_dir) / "trace.jsonl")
    events = [e for e in every if e.get("task_id") == task_id]
    if not events:
        raise ConfigError(f"task {task_id!r} is not in the run; its tasks: {_listing(every)}")
    return {
        "steps": [StepRecord.from_json(e) for e in events if e["event"] == "step"],
        "end": next((e for e in events if e["event"] == "task_end"), None),
    }


def _listing(events: list[dict[str, Any]], most: int = 12) -> str:
    """The run's task ids, in trace order, for an error message (the first `most` of them)."""
    ids = list(dict.fromkeys(e["task_id"] for e in events if e.get("event") == "task_start"))
    if not ids:
        return "none"
    shown = ", ".join(ids[:most])
    return shown + (f", ... ({len(ids)} in all)" if len(ids) > most else "")


def wall_clock_s(events: list[dict[str, Any]]) -> float:
    """Clock time the run took: from each `run_start` to its `run_end` (or, for a killed run, its
    last event), added up over resumed segments. Not the tasks' summed time: they overlap."""
    total, start, last = 0.0, None, None
    for e in events:
        if e.get("event") == "run_start":
            if start is not None and last is not None:
                total += last - start  # a segment killed before its run_end
            start = e["ts"]
        last = e.get("ts", last)
        if e.get("event") == "run_end" and start is not None:
            total += e["ts"] - start
            start = None
    if start is not None and last is not None:
        total += last - start
    return round(total, 1)


def _mode(run_dir: Path) -> str:
    try:
        manifest = json.loads((run_dir / "run_manifest.json").read_text(encoding="utf-8"))
        return str(manifest["config"]["coder"]["mode"])
    except (OSError, ValueError, KeyError, TypeError):
        return "?"


def stats(run_dir: str | Path) -> dict[str, Any]:
    """Rejections by gate and reason, calls and tokens per task, and where tasks got stuck."""
    events = read_trace(_run_dir(run_dir) / "trace.jsonl")
    rejections: Counter[tuple[str, str]] = Counter()
    offered = 0
    stuck: list[dict[str, Any]] = []
    last_step: dict[str, StepRecord] = {}
    for e in events:
        if e["event"] == "step":
            record = last_step[e["task_id"]] = StepRecord.from_json(e)
            for c in record.candidates:
                offered += 1
                if c.rejected:
                    rejections[(c.gate, c.reason)] += 1
        elif e["event"] == "task_end" and e["status"] in ("stuck", "budget", "error"):
            last = last_step.get(e["task_id"])
            stuck.append(
                {
                    "task_id": e["task_id"],
                    "status": e["status"],
                    "reason": e.get("reason", ""),
                    "step": None if last is None else last.step,
                    "prefix_lines": None if last is None else last.prefix_lines,
                }
            )
    tasks = [
        {
            "task_id": r["task_id"],
            "status": r["status"],
            "calls": r["usage"]["calls"],
            "tokens": r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"],
            "steps": r["steps"],
        }
        for r in read_results(Path(run_dir))
    ]
    return {
        "candidates": offered,
        "rejections": [{"gate": g, "reason": r, "count": n} for (g, r), n in rejections.most_common()],
        "tasks": tasks,
        "stuck": stuck,
    }


def _scores(run_dir: Path) -> dict[str, bool]:
    path = run_dir / "evaluation" / "results.jsonl"
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no hidden-test scores yet: run `vigor evaluate --run-dir {run_dir}`")
    return {row["task_id"]: bool(row["passed"]) for row in map(json.loads, path.read_text().splitlines())}


def summary(run_dir: str | Path) -> dict[str, Any]:
    """Mode, pass@1, calls, tokens, clock time and summed task time of one scored run."""
    run_dir = _run_dir(run_dir)
    results = read_results(run_dir)
    scores = _scores(run_dir)
    n = len(results) or 1
    return {
        "run": str(run_dir),
        "mode": _mode(run_dir),
        "tasks": len(results),
        "pass@1": round(sum(scores.get(r["task_id"], False) for r in results) / n, 4),
        "calls": sum(r["usage"]["calls"] for r in results),
        "prompt_tokens": sum(r["usage"]["prompt_tokens"] for r in results),
        "completion_tokens": sum(r["usage"]["completion_tokens"] for r in results),
        "wall_s": wall_clock_s(read_trace(run_dir / "trace.jsonl")),
        "task_s": round(sum(r.get("duration_s", 0.0) for r in results), 1),
    }


def compare(run_a: str | Path, run_b: str | Path) -> dict[str, Any]:
    """Two scored runs side by side, the tasks one solved and the other did not, and for each of
    those the step where the two codes part."""
    a, b = _run_dir(run_a), _run_dir(run_b)
    sa, sb = _scores(a), _scores(b)
    common = sorted(set(sa) & set(sb))
    only_a = [t for t in common if sa[t] and not sb[t]]
    only_b = [t for t in common if sb[t] and not sa[t]]
    return {
        "a": summary(a),
        "b": summary(b),
        "common_tasks": len(common),
        "only_a": only_a,
        "only_b": only_b,
        "differences": [divergence(a, b, t) | {"solved_by": "A" if t in only_a else "B"} for t in only_a + only_b],
    }


def _committed_steps(run_dir: Path, task_id: str) -> list[StepRecord]:
    steps: list[StepRecord] = task_steps(run_dir, task_id)["steps"]
    return [s for s in steps if s.committed is not None and not s.oneshot]


def divergence(run_a: str | Path, run_b: str | Path, task_id: str) -> dict[str, Any]:
    """Where two runs' codes for a task first differ, and what the guided run decided at that line:
    its step, the committed line and rule, and every candidate it rejected there (with reasons)."""
    a, b = _run_dir(run_a), _run_dir(run_b)
    rows = []
    for run in (a, b):
        row = next((r for r in read_results(run) if r["task_id"] == task_id), None)
        if row is None:
            raise ConfigError(f"task {task_id!r} is not in {run}/results.jsonl")
        rows.append(row)
    lines_a, lines_b = (r["completion"].rstrip("\n").split("\n") for r in rows)
    index = next((i for i, (x, y) in enumerate(zip(lines_a, lines_b)) if x != y), min(len(lines_a), len(lines_b)))
    out: dict[str, Any] = {
        "task_id": task_id,
        "line": index + 1,  # of the completion
        "a_line": lines_a[index] if index < len(lines_a) else None,
        "b_line": lines_b[index] if index < len(lines_b) else None,
    }
    for name, run in (("a", a), ("b", b)):
        steps = _committed_steps(run, task_id)
        if index < len(steps):  # a guided run decided this line
            step = steps[index]
            rejected = [
                {"text": c.text, "source": c.source, "reason": c.reason, "detail": c.detail}
                for c in step.candidates
                if c.rejected
            ]
            out[f"{name}_step"] = {
                "step": step.step,
                "committed": step.committed.text if step.committed else None,
                "rule": step.rule,
                "rejected": rejected,
                # how the line was proposed: from the live draft, or a fresh ask (the first ask of a task,
                # after a rejection, or because the draft had run out, e.g. an answer cut off by max_tokens)
                "draft_hit": step.draft_hit,
                "asks": sum(1 for a in step.attempts if not a.draft_hit),
            }
    return out
