"""One editor session from its work-done progress begin to `vigor/end`: the engine run, each committed
line streamed into the buffer, the outcome judged against the examples, the trace closed."""

from __future__ import annotations

import ast
import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from engine import JsonlTrace, StepInfo, Task, VigorConfig, read_trace, write_task_html

from .params import END_NOTIFICATION, STEP_NOTIFICATION
from .session import CANCELLED, FAILED_EXAMPLES, Session, step_summary
from .streaming import stream_line

if TYPE_CHECKING:
    from .server import VigorServer

log = logging.getLogger(__name__)


async def _begin_progress(ls: VigorServer, session: Session) -> bool:
    window = ls.client_capabilities.window
    if not (window and window.work_done_progress):
        return False
    try:
        await ls.work_done_progress.create_async(session.token)
    except Exception as exc:
        log.info("progress create failed: %s", exc)
        return False
    ls.work_done_progress.begin(
        session.token, lsp.WorkDoneProgressBegin(title="VIGOR", cancellable=True, message="step 0")
    )
    future = ls.work_done_progress.tokens.get(session.token)
    if future is not None:
        future.add_done_callback(lambda f: f.cancelled() and ls.cancel(session.id))
    return True


async def run_session(ls: VigorServer, session: Session, task: Task, config: VigorConfig) -> None:
    """One session from progress begin to `vigor/end`; the document is freed whatever happens."""
    trace = JsonlTrace(session.trace_jsonl)
    progress = False
    outcome, detail, examples = "error", "", {}
    try:
        progress = await _begin_progress(ls, session)
        outcome, detail, examples = await _generate(ls, session, task, config, trace, progress)
    except asyncio.CancelledError:  # the server is going away (exit): end the session's records
        outcome, detail = CANCELLED, "the server is shutting down"
    except Exception as exc:
        log.exception("session %s failed", session.id)
        detail = str(exc)
    finally:
        if session.end_reason:
            outcome, detail = session.end_reason, session.end_detail
        elif session.cancelled and outcome != CANCELLED:
            outcome = CANCELLED
        _finish(ls, session, task, trace, progress, outcome, detail, examples)


async def _generate(
    ls: VigorServer, session: Session, task: Task, config: VigorConfig, trace: JsonlTrace, progress: bool
) -> tuple[str, str, dict[str, Any]]:
    timeout = ls.settings().confirm_timeout_s

    async def on_step(info: StepInfo) -> None:
        t0 = time.perf_counter()
        session.steps = info.step + 1
        summary = step_summary(session, info.step, info.line, info.record)
        session.last_decision = f"{summary['committed']!r}" if summary["committed"] is not None else "end"
        _report(ls, session, progress, f"step {session.steps}: {session.last_decision}")
        if info.line is not None and not session.stopping:
            await stream_line(ls, session, info.line, timeout)
        summary["serverMs"] = round((time.perf_counter() - t0) * 1000, 3)
        ls.notify(STEP_NOTIFICATION, summary)

    runtime = ls.runtime(config)
    loop = asyncio.get_running_loop()

    def preparing(message: str) -> None:  # from the preparing thread: hand it to the event loop
        loop.call_soon_threadsafe(_report, ls, session, progress, message)

    await runtime.prepare(preparing)
    if session.stopping:
        return CANCELLED, "cancelled while the model was being prepared", {}
    result = await runtime.run(task, trace=trace, on_step=on_step, is_cancelled=lambda: session.stopping)
    return judged(result.status, result.reason, result.tests)


def judged(status: str, reason: str, tests: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The session's outcome with its examples' verdict: finished code that fails the examples the
    buffer or the instruction gave is `failed_examples`, never just `completed`."""
    passed, failed = int(tests.get("passed") or 0), int(tests.get("failed") or 0)
    # code that does not even compile reports ran=0 and every example failed: count what was checked
    ran = passed + failed
    examples = {"ran": ran, "passed": passed, "failed": failed}
    if not ran or tests.get("ok"):
        return status, reason, examples
    failures = tests.get("failures") or ([tests["error"]] if tests.get("error") else [])
    what = f"the code fails {examples['failed']} of {ran} example(s)"
    if failures:
        what += f": {readable_failure(failures[0])}"
    if status == "completed":
        return FAILED_EXAMPLES, what, examples
    return status, f"{reason}; {what}" if reason else what, examples


def readable_failure(failure: str) -> str:
    """`assert _vigor_match(f(1), 2), 'f(1)' -> AssertionError: f(1)` as `f(1) should be 2`; an
    exception other than the failed comparison is kept (`... (ZeroDivisionError: division by zero)`)."""
    source, _, error = failure.partition(" -> ")
    try:
        node = ast.parse(source).body[0]
    except (SyntaxError, IndexError):
        return failure
    test = node.test if isinstance(node, ast.Assert) else None
    if not (isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and len(test.args) == 2):
        return failure
    call, expected = (ast.unparse(a) for a in test.args)
    text = f"{call} should be {expected}"
    return text if error.startswith("AssertionError") else f"{text} ({error})"


def _report(ls: VigorServer, session: Session, progress: bool, message: str) -> None:
    """One work-done progress report for the session (when the client takes progress)."""
    if progress and not ls.closed:
        ls.work_done_progress.report(session.token, lsp.WorkDoneProgressReport(message=message))


def _finish(
    ls: VigorServer,
    session: Session,
    task: Task,
    trace: JsonlTrace,
    progress: bool,
    outcome: str,
    detail: str,
    examples: dict[str, Any],
) -> None:
    lines = len(session.written)
    trace.emit(
        "editor_end",
        task_id=task.task_id,
        session=session.id,
        outcome=outcome,
        detail=detail,
        lines=lines,
        examples=examples,
    )
    trace.close()
    try:
        write_task_html(read_trace(session.trace_jsonl), session.trace_html)
    except Exception as exc:
        log.warning("trace page failed: %s", exc)
    ls.by_uri.pop(session.uri, None)
    ls.forget_old_sessions()
    if progress and not ls.closed:
        end = lsp.WorkDoneProgressEnd(message=f"{outcome} after {session.steps} steps")
        ls.work_done_progress.end(session.token, end)
        ls.work_done_progress.tokens.pop(session.token, None)
    ls.notify(
        END_NOTIFICATION,
        {
            "sessionId": session.id,
            "uri": session.uri,
            "outcome": outcome,
            "detail": detail,
            "lines": lines,
            "examples": examples,
            "tracePath": str(session.trace_jsonl),
            "htmlPath": str(session.trace_html),
        },
    )
