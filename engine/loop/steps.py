"""The step loop (docs/design.md, "The step loop"): propose, classify, gate, commit, append and trace,
until the Run Policy stops it.

Read top to bottom, one step is: the Coder proposes; candidates are normalised; the Language
agent labels each; fragments, non-code lines and END go to the Reviewer, executable lines to
the Evaluator; the Commit agent picks one by the documented key; the line is appended to the
immutable prefix; the step is traced. The Tester runs the visible tests at the end. What is
learned ahead of a step (the draft's coming lines) lives in engine/loop/speculation.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from engine.agents.coders.base import Coder, Proposal, ProposeRequest
from engine.agents.commit import Decision, Gated, choose, choose_fallback
from engine.agents.evaluator import Evaluator
from engine.agents.language.agent import Language
from engine.agents.reviewer import Reviewer
from engine.agents.tester import Tester
from engine.config import VigorConfig
from engine.errors import LLMError
from engine.loop.records import (
    AttemptRecord,
    CandidateRecord,
    Committed,
    DroppedRecord,
    Fallback,
    MetricsTally,
    Result,
    StepInfo,
    StepRecord,
    TaskMetrics,
)
from engine.loop.speculation import Speculation, evaluate_draft_ahead
from engine.reasons import Gate, Reason
from engine.trace import NullTrace, TraceSink
from engine.types import END, Candidate, Classification, Label, Outcome, Task, Usage, Verdict

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside the loop when its cancel check says stop."""


@dataclass
class Agents:
    """The replaceable parts of one generation."""

    coder: Coder
    language: Language
    reviewer: Reviewer
    evaluator: Evaluator
    tester: Tester | None = None
    clock: Callable[[], float] = time.monotonic
    speculation: Speculation = field(default_factory=Speculation)


def normalise(candidates: tuple[Candidate, ...]) -> tuple[list[Candidate], list[DroppedRecord]]:
    """Strip trailing whitespace, refuse multi-line texts, drop duplicates keeping the best rank."""
    kept: dict[str, Candidate] = {}
    dropped: list[DroppedRecord] = []
    for cand in sorted(candidates, key=lambda c: c.rank):
        text = cand.text.rstrip()
        if "\n" in text or "\r" in text:
            dropped.append(DroppedRecord(cand.text, cand.rank, Reason.CANDIDATE_MULTILINE))
            continue
        if text in kept:
            dropped.append(DroppedRecord(text, cand.rank, Reason.CANDIDATE_DUPLICATE))
            continue
        kept[text] = cand if text == cand.text else Candidate(text, cand.source, cand.rank, cand.model, cand.settings)
    return list(kept.values()), dropped


async def gate(candidates: list[Candidate], state: Any, prefix: str, task: Task, agents: Agents) -> list[Gated]:
    """Classify every candidate, then send each to its gate; executable lines are evaluated together."""
    spec = agents.speculation
    spec.forget_before(len(state.prefix))
    gated: list[Gated | None] = []
    to_run: list[tuple[int, Classification]] = []
    labels: dict[int, Classification] = {}
    for cand in candidates:
        cls = labels[cand.rank] = spec.classify(agents.language, state, cand.text)
        if cls.label is Label.INVALID:
            gated.append(Gated(cand, cls, Verdict(Gate.LANGUAGE, Outcome.REJECT, cls.reason, cls.detail)))
            continue
        verdict = agents.reviewer.review(cand, cls, prefix, task)
        if cls.label is Label.EXECUTABLE and verdict.allowed:
            to_run.append((len(gated), cls))
            gated.append(None)
        else:
            gated.append(Gated(cand, cls, verdict))
    if to_run:
        await evaluate_draft_ahead(
            candidates,
            labels,
            state,
            task,
            coder=agents.coder,
            language=agents.language,
            evaluator=agents.evaluator,
            tester=agents.tester,
            spec=spec,
        )
        verdicts = await agents.evaluator.evaluate_many([c for _, c in to_run], task)
        for (i, cls), verdict in zip(to_run, verdicts):
            gated[i] = Gated(candidates[i], cls, verdict)
    return [g for g in gated if g is not None]


def _candidate_record(g: Gated) -> CandidateRecord:
    v = g.verdict
    return CandidateRecord(
        text=g.candidate.text,
        source=g.candidate.source,
        rank=g.candidate.rank,
        label=g.classification.label.value,
        parse_reason=g.classification.reason,
        gate=v.gate,
        outcome=v.outcome.value,
        reason=v.reason,
        detail=v.detail,
        passed_examples=v.passed_examples,
        failed_examples=v.failed_examples,
        duration_s=v.duration_s,
        kind=g.candidate.settings.get("kind"),
        alternative=tuple((k, v) for k, v in g.candidate.settings.items() if k in ALTERNATIVE_KEYS),
    )


# Candidate settings the trace keeps as the alternative's record (set by the openai coder's repair)
ALTERNATIVE_KEYS = ("final_passed", "final_examples", "evidence", "seed", "repair", "trigger")


def _feedback(gated: list[Gated]) -> tuple[str, ...]:
    return tuple(f"`{g.candidate.text.strip()}` -> {g.verdict.reason}: {g.verdict.detail}"[:200] for g in gated)


class _Budget:
    def __init__(self, cfg: VigorConfig, clock: Callable[[], float]):
        self.policy = cfg.context.run_policy
        self.clock = clock
        self.started = clock()

    def exceeded(self, steps: int, lines: int, usage: Usage, *, drafts_past_calls: bool = False) -> str | None:
        """The budget the task has used up, if any. `drafts_past_calls`: the coder keeps to
        `calls_left`, so spent calls end the task only at a step that needs one (out_of_calls)."""
        p = self.policy
        if steps >= p.max_steps:
            return "max_steps"
        if lines >= p.max_lines:
            return "max_lines"
        # a coder that keeps to calls_left still commits the lines of a draft already paid for
        if p.max_llm_calls > 0 and usage.calls >= p.max_llm_calls + drafts_past_calls:
            return "max_llm_calls"
        if usage.prompt_tokens + usage.completion_tokens >= p.max_tokens > 0:
            return "max_tokens"
        if self.clock() - self.started >= p.max_wall_s:
            return "max_wall_s"
        return None

    def left(self, usage: Usage) -> tuple[int | None, float | None]:
        """LLM calls and seconds the task has left after `usage` (None: no limit)."""
        p = self.policy
        calls = max(0, p.max_llm_calls - usage.calls) if p.max_llm_calls > 0 else None
        return calls, max(0.0, p.max_wall_s - (self.clock() - self.started))


def task_prompt(task: Task) -> str:
    """The initial prefix: the task's prompt, ending with a newline unless empty."""
    return task.prompt if (not task.prompt or task.prompt.endswith("\n")) else task.prompt + "\n"


@dataclass
class Ending:
    """How a generation ended, before its tests: shared by guided and one-shot runs."""

    status: str  # "completed" | "stuck" | "budget" | "error" | "cancelled"
    reason: str
    code: str
    steps: int
    usage: Usage
    metrics: TaskMetrics


def start_task(task: Task, agents: Agents, trace: TraceSink, coder_name: str) -> float:
    """Emit `task_start`; returns the start time on the agents' clock."""
    trace.emit("task_start", task_id=task.task_id, coder=coder_name, examples=len(task.examples))
    return agents.clock()


async def finish_task(task: Task, agents: Agents, trace: TraceSink, end: Ending, started: float) -> Result:
    """Run the visible tests on the final code (reusing a result learned ahead), emit `task_end`."""
    tests: dict[str, Any] = {}
    if agents.tester is not None and end.status in ("completed", "budget", "stuck"):
        known = agents.speculation.final_tests.pop(end.code, None)
        tests = await agents.tester.test(end.code, task, known=known)
    result = Result(
        task_id=task.task_id,
        status=end.status,
        code=end.code,
        completion=end.code[len(task_prompt(task)) :],
        steps=end.steps,
        usage=end.usage,
        reason=end.reason,
        tests=tests,
        metrics=end.metrics,
        duration_s=agents.clock() - started,
    )
    trace.emit(
        "task_end",
        task_id=task.task_id,
        status=end.status,
        reason=end.reason,
        steps=end.steps,
        usage=end.usage.to_dict(),
        tests=tests,
        metrics=end.metrics.to_json(),
        code=end.code,
        duration_s=round(result.duration_s, 4),
    )
    return result


async def run_task(
    task: Task,
    config: VigorConfig,
    agents: Agents,
    *,
    trace: TraceSink | None = None,
    on_step: Callable[[StepInfo], Awaitable[None]] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
) -> Result:
    """Generate code for one task with the given agents; never raises for a task-level failure."""
    trace = trace or NullTrace()
    started = start_task(task, agents, trace, agents.coder.name)
    run = _TaskRun(prefix=task_prompt(task), state=agents.language.start(task_prompt(task)))
    try:
        await _steps(task, config, agents, run, trace, on_step, is_cancelled)
    except Cancelled:
        run.status, run.reason = "cancelled", "cancelled by the user"
    except LLMError as exc:
        run.status, run.reason = "error", str(exc)
        trace.emit("error", task_id=task.task_id, step=run.step, message=str(exc))
    finally:
        # an answer still streaming (cancel, a budget, END before the model stopped) is closed,
        # and with it the model's work on it; what it cost is counted
        run.usage = run.usage + await agents.coder.stop_drafting()
    end = Ending(run.status, run.reason, run.prefix, run.step, run.usage, run.tally.freeze())
    return await finish_task(task, agents, trace, end, started)


@dataclass
class _TaskRun:
    """The mutable state of one guided generation; the prefix only ever grows by whole lines."""

    prefix: str
    state: Any
    step: int = 0
    lines: int = 0
    usage: Usage = Usage()
    status: str = "completed"
    reason: str = ""
    tally: MetricsTally = field(default_factory=MetricsTally)
    budget: _Budget | None = None
    out_of_calls: bool = False  # a step needed an LLM call (an ask or a re-ask) and none was left

    def append(self, line: str) -> None:
        new_prefix = self.prefix + line + "\n"
        assert new_prefix.startswith(self.prefix), "the prefix only grows"
        self.prefix = new_prefix


async def _steps(
    task: Task,
    config: VigorConfig,
    agents: Agents,
    run: _TaskRun,
    trace: TraceSink,
    on_step: Callable[[StepInfo], Awaitable[None]] | None,
    is_cancelled: Callable[[], bool] | None,
) -> None:
    """Step until END, a stuck step or the Run Policy's budget ends the generation."""
    budget = run.budget = _Budget(config, agents.clock)
    drafts_past_calls = getattr(agents.coder, "keeps_to_calls_left", False) is True
    while True:
        if is_cancelled and is_cancelled():
            raise Cancelled()
        over = budget.exceeded(run.step, run.lines, run.usage, drafts_past_calls=drafts_past_calls)
        if over:
            run.status, run.reason = "budget", over
            return
        chosen, record = await _one_step(task, config, agents, run, is_cancelled)
        run.usage = run.usage + record.usage
        trace.emit("step", task_id=task.task_id, **record.to_json())
        if chosen is None or chosen.text == END:
            if chosen is None and run.out_of_calls:
                run.status, run.reason = "budget", "max_llm_calls"
            elif chosen is None:
                run.status, run.reason = "stuck", "no candidate passed the gates"
            if on_step:
                await on_step(StepInfo(run.step, None, run.prefix, record))
            run.step += 0 if chosen is None else 1
            return
        run.append(chosen.text)
        run.state = agents.language.commit(run.state, chosen.text)
        agents.coder.observe_commit(chosen, run.prefix)
        run.step += 1
        run.lines += 1
        if on_step:
            await on_step(StepInfo(run.step - 1, chosen.text, run.prefix, record))


def _left(run: _TaskRun, step_usage: Usage) -> tuple[int | None, float | None]:
    """LLM calls and seconds the Run Policy leaves the task within the current step (None: no limit)."""
    return run.budget.left(run.usage + step_usage) if run.budget else (None, None)


CANCEL_POLL_S = 0.05  # how often a cancel is looked for while the coder waits for the model


async def _propose(coder: Coder, request: ProposeRequest, is_cancelled: Callable[[], bool] | None) -> Proposal:
    """The coder's proposal. With a streamed draft it arrives when the model has written the line,
    which can take seconds: a cancel meanwhile stops the wait at once (the stream is closed by
    `stop_drafting` when the task ends)."""
    if is_cancelled is None:
        return await coder.propose(request)
    asked = asyncio.ensure_future(coder.propose(request))
    while not asked.done():
        await asyncio.wait((asked,), timeout=CANCEL_POLL_S)
        if not asked.done() and is_cancelled():
            asked.cancel()
            try:
                await asked
            except asyncio.CancelledError:
                pass
            raise Cancelled()
    return asked.result()


async def _ask(
    task: Task,
    agents: Agents,
    run: _TaskRun,
    attempt: int,
    feedback: tuple[str, ...],
    is_cancelled: Callable[[], bool] | None,
    spent: Usage,
) -> tuple[Proposal, list[Gated], AttemptRecord]:
    """One ask: propose, normalise, gate; the attempt's record. `spent`: this step's usage so far."""
    t0 = agents.clock()
    calls_left, seconds_left = _left(run, spent)
    request = ProposeRequest(task, run.prefix, run.step, attempt, feedback, calls_left, seconds_left)
    proposal = await _propose(agents.coder, request, is_cancelled)
    t1 = agents.clock()
    candidates, dropped = normalise(proposal.candidates)
    gated = await gate(candidates, run.state, run.prefix, task, agents)
    record = AttemptRecord(
        attempt=attempt,
        draft_hit=proposal.draft_hit,
        candidates=tuple(_candidate_record(g) for g in gated),
        dropped=tuple(dropped),
        usage=proposal.usage,
        calls=proposal.calls,
        propose_s=t1 - t0,
        gate_s=agents.clock() - t1,
    )
    for g in gated:
        kind = g.candidate.settings.get("kind")
        if kind is not None:
            run.tally.count_kind(kind, None if g.verdict.allowed else g.verdict.reason)
    return proposal, gated, record


async def _one_step(
    task: Task, config: VigorConfig, agents: Agents, run: _TaskRun, is_cancelled: Callable[[], bool] | None
) -> tuple[Candidate | None, StepRecord]:
    """Ask, gate and choose until a line commits or the Commit Policy gives up; one step record."""
    policy = config.context.commit_policy
    attempts: list[AttemptRecord] = []
    usage = Usage()
    feedback: tuple[str, ...] = ()
    reasks = 0
    seen: list[Gated] = []  # every attempt's candidates: the fallback picks among all of them
    while True:
        if is_cancelled and is_cancelled():
            raise Cancelled()
        proposal, gated, attempt = await _ask(task, agents, run, len(attempts), feedback, is_cancelled, usage)
        attempts.append(attempt)
        seen.extend(gated)
        usage = usage + proposal.usage
        decision: Decision = choose(gated, policy)
        if proposal.draft_hit:
            if decision.index is not None:
                run.tally.draft_hits += 1
            else:
                run.tally.draft_misses += 1
        if decision.index is None:
            # A draft miss asks afresh without spending the re-ask budget; a coder with nothing new
            # at this prefix (exhausted) is not asked again.
            would_ask = not proposal.exhausted and (
                proposal.draft_hit or (not agents.coder.deterministic and reasks < policy.reask)
            )
            if proposal.out_of_calls or (would_ask and _left(run, usage)[0] == 0):
                run.out_of_calls = True  # the fallback below may still commit a line
            elif would_ask:
                if not proposal.draft_hit:
                    reasks += 1
                    run.tally.reasks += 1
                feedback = _feedback(gated)
                continue
            # the least-bad line of the whole step: a last re-ask that only repeated rejected lines
            # (an exhausted coder) must not hide the earlier attempts' candidates
            gated = seen
            decision = choose_fallback(gated, policy)
            if decision.index is not None:
                g = gated[decision.index]
                run.tally.fallbacks.append(Fallback(run.step, g.candidate.text, g.verdict.reason, g.verdict.detail))
        chosen = gated[decision.index].candidate if decision.index is not None else None
        record = StepRecord(
            step=run.step,
            prefix_lines=run.prefix.count("\n"),
            attempts=tuple(attempts),
            committed=None if chosen is None else Committed(chosen.text, chosen.source, chosen.rank),
            rule=decision.rule,
            key=tuple(decision.key),
            key_fields=tuple(decision.key_fields),
            usage=usage,
        )
        return chosen, record
