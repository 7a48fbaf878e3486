"""The one-shot baselines, no gating: `coder.mode: oneshot` (one answer from the same model) and
`best_of_n` (seeded whole answers, the first that passes the visible examples; docs/drafting.md).

It shares the client, the Tester and the task start/end code with guided generation, so the two
stand side by side (`vigor compare`); the request is the Coder's own (`Coder.answer_whole`).
"""

from __future__ import annotations

from engine.agents.coders.base import BestOfN
from engine.config import VigorConfig
from engine.errors import LLMError
from engine.loop.records import Committed, Result, StepRecord, TaskMetrics
from engine.loop.steps import Agents, Ending, finish_task, start_task, task_prompt
from engine.trace import NullTrace, TraceSink
from engine.types import Task, Usage


async def run_oneshot(task: Task, config: VigorConfig, agents: Agents, *, trace: TraceSink | None = None) -> Result:
    """Ask once for the whole continuation, append it unchecked, run the visible tests."""
    trace = trace or NullTrace()
    started = start_task(task, agents, trace, f"{agents.coder.name}:oneshot")
    prompt = task_prompt(task)
    usage, status, reason, lines = Usage(), "completed", "", ()
    try:
        coder = agents.coder
        if config.coder.mode == "best_of_n":
            if not isinstance(coder, BestOfN):
                raise LLMError(f"coder {coder.name} cannot sample whole answers (coder.mode best_of_n)")
            answer = await coder.answer_best_of(task, prompt)
        else:
            answer = await coder.answer_whole(task, prompt)
        usage, lines = answer.usage, answer.lines
    except LLMError as exc:
        status, reason = "error", str(exc)
    code = prompt + "".join(line + "\n" for line in lines)
    step = StepRecord(0, 0, (), Committed("\n".join(lines), "oneshot", 0), "oneshot", usage=usage, oneshot=True)
    trace.emit("step", task_id=task.task_id, **step.to_json())
    end = Ending(status, reason, code, 1, usage, TaskMetrics(oneshot=True))
    return await finish_task(task, agents, trace, end, started)
