"""The step loop (DESIGN §1): propose, classify, gate, commit, append and trace, until the Run Policy stops it.

Read top to bottom, one step is: the Coder proposes; candidates are normalised; the Language
agent labels each; fragments, non-code lines and END go to the Reviewer, executable lines to
the Evaluator; the Commit agent picks one by the documented key; the line is appended to the
immutable prefix; the step is traced. The Tester runs the visible tests at the end.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.agents.coders.base import Coder, Proposal, ProposeRequest
from engine.agents.commit import Decision, Gated, choose, choose_fallback
from engine.agents.reviewer import Reviewer
from engine.config import VigorConfig
from engine.errors import LLMError
from engine.loop.records import Result, StepInfo
from engine.trace import NullTrace, TraceSink
from engine.types import END, Candidate, Classification, Label, Outcome, Task, Usage, Verdict

log = logging.getLogger(__name__)


class LanguageAgent(Protocol):
    def start(self, prefix: str) -> Any: ...
    def classify(self, state: Any, line: str) -> Classification: ...
    def commit(self, state: Any, line: str) -> Any: ...


class Evaluator(Protocol):
    async def evaluate_many(self, items: list[Classification], task: Task) -> list[Verdict]: ...


class Tester(Protocol):
    async def test(self, code: str, task: Task) -> dict[str, Any]: ...


class Cancelled(Exception):
    """Raised inside the loop when its cancel check says stop."""


@dataclass
class Agents:
    """The replaceable parts of one generation."""

    coder: Coder
    language: LanguageAgent
    reviewer: Reviewer
    evaluator: Evaluator
    tester: Tester | None = None
    clock: Callable[[], float] = time.monotonic
    # Labels the draft prefetch already computed, by (prefix length, line) -> (prefix, label): the
    # Language agent is pure, so a step that meets the same prefix and line reuses the label.
    labels: dict[tuple[int, str], tuple[str, Classification]] = field(default_factory=dict)

    def classify(self, state: Any, text: str) -> Classification:
        prefix = state.prefix
        known = self.labels.get((len(prefix), text))
        if known is not None and known[0] == prefix:
            return known[1]
        return self.language.classify(state, text)


def normalise(candidates: tuple[Candidate, ...]) -> tuple[list[Candidate], list[dict[str, Any]]]:
    """Strip trailing whitespace, refuse multi-line texts, drop duplicates keeping the best rank."""
    kept: dict[str, Candidate] = {}
    dropped: list[dict[str, Any]] = []
    for cand in sorted(candidates, key=lambda c: c.rank):
        text = cand.text.rstrip()
        if "\n" in text or "\r" in text:
            dropped.append({"text": cand.text, "rank": cand.rank, "reason": "candidate.multiline"})
            continue
        if text in kept:
            dropped.append({"text": text, "rank": cand.rank, "reason": "candidate.duplicate"})
            continue
        kept[text] = cand if text == cand.text else Candidate(text, cand.source, cand.rank, cand.model, cand.settings)
    return list(kept.values()), dropped


async def gate(candidates: list[Candidate], state: Any, prefix: str, task: Task, agents: Agents) -> list[Gated]:
    """Classify every candidate, then send each to its gate; executable lines are evaluated together."""
    gated: list[Gated | None] = []
    to_run: list[tuple[int, Classification]] = []
    if agents.labels:  # labels for prefixes already passed are of no more use
        agents.labels = {k: v for k, v in agents.labels.items() if k[0] >= len(state.prefix)}
    labels: dict[int, Classification] = {}
    for cand in candidates:
        cls = labels[cand.rank] = agents.classify(state, cand.text)
        if cls.label is Label.INVALID:
            gated.append(Gated(cand, cls, Verdict("language", Outcome.REJECT, cls.reason, cls.detail)))
            continue
        verdict = agents.reviewer.review(cand, cls, prefix, task)
        if cls.label is Label.EXECUTABLE and verdict.allowed:
            to_run.append((len(gated), cls))
            gated.append(None)
        else:
            gated.append(Gated(cand, cls, verdict))
    if to_run:
        await _prefetch_draft(candidates, labels, state, task, agents)
        verdicts = await agents.evaluator.evaluate_many([c for _, c in to_run], task)
        for (i, cls), verdict in zip(to_run, verdicts):
            gated[i] = Gated(candidates[i], cls, verdict)
    return [g for g in gated if g is not None]


PREFETCH_LINES = 64  # how far ahead of the current line a draft's lines are evaluated in one batch
# ... and how much program text one batch may carry: each line's program is the whole prefix, so on
# a large file a batch would delay the first line by every later line's run; there, lines run singly
PREFETCH_BYTES = 100_000


async def _prefetch_draft(
    candidates: list[Candidate], labels: dict[int, Classification], state: Any, task: Task, agents: Agents
) -> None:
    """When the draft's line is about to be evaluated and its verdict is not already known, evaluate
    it together with the executable lines the draft offers after it, as if each committed in turn,
    in one sandbox child (the Evaluator keeps the verdicts for the steps that offer those lines).
    Nothing is decided here: each step still classifies, reviews and gates its own candidates."""
    ahead = getattr(agents.coder, "draft_ahead", None)
    prefetch = getattr(agents.evaluator, "prefetch", None)
    known = getattr(agents.evaluator, "has_prefetched", None)
    first = next((c for c in candidates if c.rank == 0 and c.source == "draft"), None)
    if ahead is None or prefetch is None or known is None or first is None:
        return
    cls = labels[first.rank]
    if cls.label is not Label.EXECUTABLE or known(cls):
        return
    chain = [cls]
    size = len(cls.program or "")
    state = agents.language.commit(state, first.text)
    ended = False  # the draft reaches END: its final code is known, so its tests can run too
    for text in ahead()[:PREFETCH_LINES]:
        if text == END:
            ended = True
            break
        if size + len(state.prefix) > PREFETCH_BYTES:
            break
        cls = agents.classify(state, text)
        agents.labels[(len(state.prefix), text)] = (state.prefix, cls)
        if cls.label is Label.INVALID:
            break
        if cls.label is Label.EXECUTABLE:
            chain.append(cls)
            size += len(cls.program or "")
        state = agents.language.commit(state, text)
    final = state.prefix if ended else None
    tester = agents.tester
    job = tester.job(final, task)[0] if final is not None and hasattr(tester, "job") else None
    tested = await prefetch(chain, task, job)
    if job is not None and isinstance(tested, dict):
        tester.prefetched = {final: tested}


def _candidate_record(g: Gated) -> dict[str, Any]:
    v = g.verdict
    rec = {
        "text": g.candidate.text,
        "source": g.candidate.source,
        "rank": g.candidate.rank,
        "label": g.classification.label.value,
        "parse_reason": g.classification.reason,
        "gate": v.gate,
        "outcome": v.outcome.value,
        "reason": v.reason,
        "detail": v.detail,
        "passed_examples": v.passed_examples,
        "failed_examples": v.failed_examples,
        "duration_s": round(v.duration_s, 6),
    }
    if "kind" in g.candidate.settings:
        rec["kind"] = g.candidate.settings["kind"]
    return rec


def _feedback(gated: list[Gated]) -> tuple[str, ...]:
    return tuple(f"`{g.candidate.text.strip()}` -> {g.verdict.reason}: {g.verdict.detail}"[:200] for g in gated)


class _Budget:
    def __init__(self, cfg: VigorConfig, clock: Callable[[], float]):
        self.policy = cfg.context.run_policy
        self.clock = clock
        self.started = clock()

    def exceeded(self, steps: int, lines: int, usage: Usage) -> str | None:
        p = self.policy
        if steps >= p.max_steps:
            return "max_steps"
        if lines >= p.max_lines:
            return "max_lines"
        if usage.calls >= p.max_llm_calls > 0:
            return "max_llm_calls"
        if usage.prompt_tokens + usage.completion_tokens >= p.max_tokens > 0:
            return "max_tokens"
        if self.clock() - self.started >= p.max_wall_s:
            return "max_wall_s"
        return None


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
    clock = agents.clock
    started = clock()
    prompt = task.prompt if (not task.prompt or task.prompt.endswith("\n")) else task.prompt + "\n"
    prefix = prompt
    state = agents.language.start(prefix)
    budget = _Budget(config, clock)
    usage = Usage()
    metrics: dict[str, Any] = {"draft_hits": 0, "draft_misses": 0, "fallbacks": [], "kinds": {}, "reasks": 0}
    trace.emit("task_start", task_id=task.task_id, coder=agents.coder.name, examples=len(task.examples))
    status, reason, step, lines = "completed", "", 0, 0
    try:
        while True:
            if is_cancelled and is_cancelled():
                raise Cancelled()
            over = budget.exceeded(step, lines, usage)
            if over:
                status, reason = "budget", over
                break
            outcome = await _one_step(task, config, agents, prefix, state, step, metrics, is_cancelled)
            usage = usage + outcome["usage"]
            record = outcome["record"]
            trace.emit("step", task_id=task.task_id, **record)
            chosen: Candidate | None = outcome["chosen"]
            if chosen is None:
                status, reason = "stuck", "no candidate passed the gates"
                if on_step:
                    await on_step(StepInfo(step, None, prefix, record))
                break
            if chosen.text == END:
                if on_step:
                    await on_step(StepInfo(step, None, prefix, record))
                step += 1
                break
            new_prefix = prefix + chosen.text + "\n"
            assert new_prefix.startswith(prefix), "the prefix only grows"
            prefix = new_prefix
            state = agents.language.commit(state, chosen.text)
            agents.coder.observe_commit(chosen, prefix)
            step += 1
            lines += 1
            if on_step:
                await on_step(StepInfo(step - 1, chosen.text, prefix, record))
    except Cancelled:
        status, reason = "cancelled", "cancelled by the user"
    except LLMError as exc:
        status, reason = "error", str(exc)
        trace.emit("error", task_id=task.task_id, step=step, message=str(exc))
    tests: dict[str, Any] = {}
    if agents.tester is not None and status in ("completed", "budget", "stuck"):
        tests = await agents.tester.test(prefix, task)
    result = Result(
        task_id=task.task_id,
        status=status,
        code=prefix,
        completion=prefix[len(prompt) :],
        steps=step,
        usage=usage,
        reason=reason,
        tests=tests,
        metrics=metrics,
        duration_s=clock() - started,
    )
    trace.emit(
        "task_end",
        task_id=task.task_id,
        status=status,
        reason=reason,
        steps=step,
        usage=usage.to_dict(),
        tests=tests,
        metrics=metrics,
        code=prefix,
        duration_s=round(result.duration_s, 4),
    )
    return result


async def _one_step(
    task: Task,
    config: VigorConfig,
    agents: Agents,
    prefix: str,
    state: Any,
    step: int,
    metrics: dict[str, Any],
    is_cancelled: Callable[[], bool] | None,
) -> dict[str, Any]:
    """Ask, gate and choose until a line commits or the Commit Policy gives up; one trace record."""
    policy = config.context.commit_policy
    attempts: list[dict[str, Any]] = []
    usage = Usage()
    feedback: tuple[str, ...] = ()
    reasks = 0
    attempt = 0
    while True:
        if is_cancelled and is_cancelled():
            raise Cancelled()
        t0 = agents.clock()
        proposal: Proposal = await agents.coder.propose(ProposeRequest(task, prefix, step, attempt, feedback))
        t1 = agents.clock()
        usage = usage + proposal.usage
        candidates, dropped = normalise(proposal.candidates)
        gated = await gate(candidates, state, prefix, task, agents)
        t2 = agents.clock()
        decision: Decision = choose(gated, policy)
        _count_kinds(metrics, gated)
        entry = {
            "attempt": attempt,
            "draft_hit": proposal.draft_hit,
            "candidates": [_candidate_record(g) for g in gated],
            "dropped": dropped,
            "usage": proposal.usage.to_dict(),
            "calls": list(proposal.calls),
            "timings": {"propose_s": round(t1 - t0, 6), "gate_s": round(t2 - t1, 6)},
        }
        attempts.append(entry)
        if proposal.draft_hit:
            metrics["draft_hits" if decision.index is not None else "draft_misses"] += 1
        if decision.index is None:
            if proposal.draft_hit or (not agents.coder.deterministic and reasks < policy.reask):
                # A draft miss asks afresh without spending the re-ask budget.
                reasks += 0 if proposal.draft_hit else 1
                metrics["reasks"] += 0 if proposal.draft_hit else 1
                feedback = _feedback(gated)
                attempt += 1
                continue
            decision = choose_fallback(gated, policy)
            if decision.index is not None:
                g = gated[decision.index]
                metrics["fallbacks"].append(
                    {"step": step, "line": g.candidate.text, "reason": g.verdict.reason, "detail": g.verdict.detail}
                )
        chosen = gated[decision.index].candidate if decision.index is not None else None
        record = {
            "step": step,
            "prefix_lines": prefix.count("\n"),
            "attempts": attempts,
            "committed": None
            if chosen is None
            else {"text": chosen.text, "source": chosen.source, "rank": chosen.rank},
            "rule": decision.rule,
            "key": list(decision.key),
            "key_fields": list(decision.key_fields),
            "usage": usage.to_dict(),
        }
        return {"chosen": chosen, "record": record, "usage": usage}


def _count_kinds(metrics: dict[str, Any], gated: list[Gated]) -> None:
    """Per candidate kind (the reference coder tags them): how many were offered and rejected."""
    for g in gated:
        kind = g.candidate.settings.get("kind")
        if kind is None:
            continue
        slot = metrics["kinds"].setdefault(kind, {"offered": 0, "rejected": 0, "reasons": {}})
        slot["offered"] += 1
        if not g.verdict.allowed:
            slot["rejected"] += 1
            slot["reasons"][g.verdict.reason] = slot["reasons"].get(g.verdict.reason, 0) + 1
