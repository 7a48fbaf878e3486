"""A self-contained HTML page per task from its trace events (no scripts fetched, no network)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from engine.loop.records import StepRecord, TaskMetrics
from engine.trace import write_redacted
from engine.types import END

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1d1d1f;background:#fbfbfd}
h1{font-size:1.25rem}h2{font-size:1rem;margin:1.2rem 0 .3rem}
pre{background:#f3f3f6;padding:.6rem;border-radius:6px;overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.2rem 0 .8rem}td,th{padding:2px 6px;border-bottom:1px solid #e3e3e8;text-align:left;vertical-align:top}
code{font-family:ui-monospace,Menlo,monospace;white-space:pre}
.pass{color:#0a7d32}.soft{color:#9a6700}.reject{color:#b3261e}.committed{background:#e8f5e9}
.meta{color:#555}.tag{display:inline-block;padding:0 5px;border-radius:4px;background:#eef;font-size:12px}
details{margin:.2rem 0}summary{cursor:pointer}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _step_html(step: StepRecord) -> str:
    ctext = step.committed.text if step.committed is not None else None
    rows = []
    for att in step.attempts:
        tag = "draft hit" if att.draft_hit else f"ask {att.attempt}"
        rows.append(
            f"<tr><th colspan=7><span class=tag>{_esc(tag)}</span> "
            f"<span class=meta>{att.usage.calls} LLM call(s)</span></th></tr>"
        )
        for c in att.candidates:
            mark = "committed" if c.text == ctext and att is step.attempts[-1] else ""
            kind = f" / {_esc(c.kind)}" if c.kind else ""
            rows.append(
                f"<tr class='{mark}'><td>{c.rank}</td><td><code>{_esc(c.text)}</code></td>"
                f"<td>{_esc(c.source)}{kind}</td><td>{_esc(c.label)}</td><td class={c.outcome}>{_esc(c.outcome)}</td>"
                f"<td>{_esc(c.reason)}</td><td class=meta>{_esc(c.detail)[:300]}</td></tr>"
            )
        for d in att.dropped:
            rows.append(
                f"<tr class=meta><td>{d.rank}</td><td><code>{_esc(d.text)}</code></td>"
                f"<td colspan=5>dropped: {_esc(d.reason)}</td></tr>"
            )
    head = f"step {step.step}: " + (f"<code>{_esc(ctext)}</code>" if ctext is not None else "<b>nothing committed</b>")
    rule = f" <span class=tag>{_esc(step.rule)}</span>" if step.rule else ""
    return (
        f"<details open><summary>{head}{rule}</summary><table><tr><th>rank</th><th>line</th><th>source</th><th>label</th>"
        f"<th>outcome</th><th>reason</th><th>detail</th></tr>{''.join(rows)}</table></details>"
    )


def render_task_html(events: list[dict[str, Any]]) -> str:
    """The page for one task: header, final code, test outcome, and every step with its candidates."""
    start = next((e for e in events if e.get("event") == "task_start"), {})
    end = next((e for e in reversed(events) if e.get("event") == "task_end"), {})
    steps = [StepRecord.from_json(e) for e in events if e.get("event") == "step"]
    task_id = start.get("task_id") or end.get("task_id") or "task"
    code = end.get("code")
    if code is None:
        code = "".join(s.committed.text + "\n" for s in steps if s.committed and s.committed.text != END)
    m = TaskMetrics.from_json(end.get("metrics"))
    tests = end.get("tests", {})
    summary = (
        f"<p class=meta>status <b>{_esc(end.get('status', 'running'))}</b> {_esc(end.get('reason', ''))} · "
        f"steps {_esc(end.get('steps', len(steps)))} · LLM calls {_esc(end.get('usage', {}).get('calls', 0))} · "
        f"draft hits {m.draft_hits}, misses {m.draft_misses} · "
        f"visible tests {_esc(tests.get('passed', '-'))}/{_esc(tests.get('ran', '-'))}</p>"
    )
    errors = "".join(
        f"<p class=reject>error at step {_esc(e.get('step'))}: {_esc(e.get('message'))}</p>"
        for e in events
        if e.get("event") == "error"
    )
    return (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>VIGOR trace {_esc(task_id)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_esc(task_id)}</h1>{summary}{errors}<h2>Committed code</h2><pre><code>{_esc(code)}</code></pre>"
        f"<h2>Steps</h2>{''.join(_step_html(s) for s in steps)}</body></html>\n"
    )


def write_task_html(events: list[dict[str, Any]], path: str | Path) -> Path:
    """Write the page for one task's events; returns its path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_redacted(p, render_task_html(events))
    return p
