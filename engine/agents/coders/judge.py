"""Judging a draft's predicted final code on the visible examples (the evidence repair works from).

A draft that reaches its end predicts the whole program. Running that program on the task's
visible examples (never its hidden tests) says how many it passes and, for the first it fails,
what the call returned or raised and on which line. Repair ranks alternatives by that count and
gives the evidence to the Coder.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Protocol

from engine.types import Task

EXAMPLE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Judgement:
    """How a predicted final program fares on the visible examples."""

    passed: int
    total: int
    evidence: tuple[str, ...] = ()  # one line per failed example: call, expected, observed, line

    @property
    def all_pass(self) -> bool:
        return self.total > 0 and self.passed == self.total


class DraftJudge(Protocol):
    """Runs a predicted final program on a task's visible examples."""

    async def judge(self, code: str, task: Task) -> Judgement | None:
        """None when nothing can judge it (no comparable visible example)."""
        ...


def comparable_examples(task: Task) -> list[list[str]]:
    """The visible examples with a call and a literal expected value: `[call, expected]`."""
    out = []
    for ex in task.examples:
        if not ex.call or ex.expected is None:
            continue
        try:
            ast.literal_eval(ex.expected)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        out.append([ex.call, ex.expected])
    return out


def evidence_line(fact: dict[str, Any]) -> str:
    """One failed example as the Coder reads it."""
    call, expected = fact.get("call", ""), fact.get("expected", "")
    if "raised" in fact:
        at = f" at `{fact['line']}`" if fact.get("line") else ""
        return f"`{call}` should return {expected} but raised {fact['raised']}{at}"
    return f"`{call}` should return {expected} but returned {fact.get('observed', '?')}"


def judgement_from(value: Any, total: int) -> Judgement:
    """A Judgement from the child's answer (see engine/execution/child_examples.py)."""
    if not isinstance(value, dict):
        return Judgement(0, total, ("the program did not finish on the examples",))
    if value.get("error"):
        at = f" at `{value['line']}`" if value.get("line") else ""
        return Judgement(0, total, (f"the program fails before any call: {value['error']}{at}",))
    facts = [f for f in value.get("examples", []) if isinstance(f, dict)]
    failed = [f for f in facts if not f.get("ok")]
    return Judgement(len(facts) - len(failed), total, tuple(evidence_line(f) for f in failed[:3]))


class SandboxJudge:
    """The default DraftJudge: one sandbox child per program, bounded CPU, results cached by code."""

    def __init__(self, sandbox: Any, *, example_timeout_s: float = EXAMPLE_TIMEOUT_S):
        self.sandbox = sandbox
        self.example_timeout_s = example_timeout_s
        self._known: dict[tuple[str, str], Judgement] = {}

    async def judge(self, code: str, task: Task) -> Judgement | None:
        examples = comparable_examples(task)
        if not examples:
            return None
        key = (task.task_id, code)
        if key in self._known:
            return self._known[key]
        from engine.execution.sandbox import Job

        job = Job(
            "engine.execution.child_examples:child_check_examples",
            (code, examples, self.example_timeout_s),
            timeout_s=len(examples) * (self.example_timeout_s + 0.2) + 2.0,
        )
        result = await self.sandbox.run(job)
        verdict = judgement_from(result.value if result.ok else None, len(examples))
        self._known[key] = verdict
        return verdict
