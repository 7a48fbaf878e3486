"""Speculation: what the loop learns ahead of the step that needs it.

A Coder that keeps a draft offers its lines one by one (`Coder.draft_ahead`). When the draft's
line is about to be evaluated, the loop evaluates it together with the executable lines the draft
offers after it, as if each committed in turn, in one go (`Evaluator.evaluate_ahead`); when the
draft reaches END, the Tester's job for the draft's predicted final code (`Tester.job`) runs in the
same go. Nothing is decided here: each step still classifies, reviews and gates its own
candidates; what was learned ahead only saves time when a step meets exactly the same program.
Every hook is declared in its agent's Protocol; this module owns what it learns (no agent writes
another agent's state).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.agents.coders.base import Coder
from engine.agents.evaluator import Evaluator
from engine.agents.language.agent import Language
from engine.agents.tester import Tester
from engine.types import END, Candidate, Classification, Label, Task

AHEAD_LINES = 64  # how far ahead of the current line a draft's lines are evaluated in one go
# ... and how much program text one go may carry: each line's program is the whole prefix, so on a
# large file a batch would delay the first line by every later line's run; there, lines run singly
AHEAD_BYTES = 100_000


@dataclass
class Speculation:
    """What was learned ahead for the live draft: labels of its lines, tests of its final code."""

    # (prefix length, line) -> (prefix, label): the Language agent is pure, so a step that meets the
    # same prefix and line reuses the label
    labels: dict[tuple[int, str], tuple[str, Classification]] = field(default_factory=dict)
    # predicted final code -> the Tester's outcome on it
    final_tests: dict[str, dict[str, Any]] = field(default_factory=dict)

    def classify(self, language: Language, state: Any, text: str) -> Classification:
        prefix = state.prefix
        known = self.labels.get((len(prefix), text))
        if known is not None and known[0] == prefix:
            return known[1]
        return language.classify(state, text)

    def forget_before(self, prefix_len: int) -> None:
        """Labels for prefixes already passed are of no more use."""
        if self.labels:
            self.labels = {k: v for k, v in self.labels.items() if k[0] >= prefix_len}


async def evaluate_draft_ahead(
    candidates: list[Candidate],
    labels: dict[int, Classification],
    state: Any,
    task: Task,
    *,
    coder: Coder,
    language: Language,
    evaluator: Evaluator,
    tester: Tester | None,
    spec: Speculation,
) -> None:
    """When the draft's line is about to be evaluated and its verdict is not already known, evaluate
    it with the executable lines the draft offers after it (and, if the draft ends, its final code's
    tests) in one go."""
    first = next((c for c in candidates if c.rank == 0 and c.source == "draft"), None)
    if first is None:
        return
    cls = labels[first.rank]
    if cls.label is not Label.EXECUTABLE or evaluator.knows(cls):
        return
    chain = [cls]
    size = len(cls.program or "")
    state = language.commit(state, first.text)
    ended = False  # the draft reaches END: its final code is known, so its tests can run too
    for text in coder.draft_ahead()[:AHEAD_LINES]:
        if text == END:
            ended = True
            break
        if size + len(state.prefix) > AHEAD_BYTES:
            break
        cls = spec.classify(language, state, text)
        spec.labels[(len(state.prefix), text)] = (state.prefix, cls)
        if cls.label is Label.INVALID:
            break
        if cls.label is Label.EXECUTABLE:
            chain.append(cls)
            size += len(cls.program or "")
        state = language.commit(state, text)
    final = state.prefix if ended else None
    job = tester.job(final, task)[0] if final is not None and tester is not None else None
    tested = await evaluator.evaluate_ahead(chain, task, job)
    if job is not None and final is not None and tested is not None:
        spec.final_tests = {final: tested}
