"""The one-shot baseline (`coder.mode: oneshot`): one completion from the same model, no gating.

It shares the prompt, the client and the Tester with guided generation so the two stand side by
side at a matched budget (`vigor compare`).
"""

from __future__ import annotations

from typing import Any

from engine.agents.coders.text import continuation_lines, expected_indent
from engine.config import VigorConfig
from engine.errors import LLMError
from engine.loop.records import Result
from engine.loop.steps import Agents
from engine.trace import NullTrace, TraceSink
from engine.types import Task, Usage


async def run_oneshot(task: Task, config: VigorConfig, agents: Agents, *, trace: TraceSink | None = None) -> Result:
    """Ask once for the whole continuation, append it unchecked, run the visible tests."""
    trace = trace or NullTrace()
    started = agents.clock()
    prompt = task.prompt if (not task.prompt or task.prompt.endswith("\n")) else task.prompt + "\n"
    trace.emit("task_start", task_id=task.task_id, coder=f"{agents.coder.name}:oneshot", examples=len(task.examples))
    usage, status, reason, lines = Usage(), "completed", "", []
    try:
        client: Any = getattr(agents.coder, "client", None)
        if client is None:  # e.g. the reference coder: its oneshot is the reference itself
            lines = (task.reference or "").rstrip().split("\n")
        else:
            from engine.agents.coders.openai_coder import build_messages

            messages = build_messages(task, prompt, prompts=config.context.prompts.coder)
            result = await client.chat(messages, n=1, context=f"{task.task_id} oneshot")
            usage = result.usage
            lines = continuation_lines(prompt, result.texts[0], base_indent=expected_indent(prompt))
    except LLMError as exc:
        status, reason = "error", str(exc)
    code = prompt + "".join(line + "\n" for line in lines)
    trace.emit(
        "step", task_id=task.task_id, step=0, oneshot=True, committed={"text": "\n".join(lines)}, usage=usage.to_dict()
    )
    tests: dict[str, Any] = {}
    if agents.tester is not None and status == "completed":
        tests = await agents.tester.test(code, task)
    res = Result(
        task.task_id,
        status,
        code,
        code[len(prompt) :],
        1,
        usage,
        reason,
        tests,
        {"oneshot": True},
        agents.clock() - started,
    )
    trace.emit(
        "task_end",
        task_id=task.task_id,
        status=status,
        reason=reason,
        steps=1,
        usage=usage.to_dict(),
        tests=tests,
        metrics=res.metrics,
        duration_s=round(res.duration_s, 4),
    )

    return res
