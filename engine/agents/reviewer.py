"""The Reviewer: rule-based gate for fragments, non-code lines and END.

Rules are cheap and static; each rejection has a stable reason code. The parse gate has already
run, so everything here is viable Python: the rules judge whether it is worth committing.
"""

from __future__ import annotations

import ast
from typing import Protocol

from engine.agents.language.restate import restated_definition
from engine.reasons import Gate, Reason
from engine.types import Candidate, Classification, Label, Outcome, Task, Verdict

MAX_LINE_LENGTH = 240
MAX_INDENT = 48


class Reviewer(Protocol):
    """Judges candidates the Evaluator does not run."""

    def review(self, candidate: Candidate, classification: Classification, prefix: str, task: Task) -> Verdict: ...


def _trailing_blank_lines(prefix: str) -> int:
    count = 0
    for line in reversed(prefix.rstrip("\n").split("\n") if prefix else []):
        if line.strip():
            break
        count += 1
    return count


def _entry_has_body(program: str, entry_point: str) -> bool:
    """True when `entry_point` is defined with at least one statement beyond a docstring or `pass`."""
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == entry_point:
            body = list(node.body)
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                body = body[1:]
            return any(not isinstance(stmt, ast.Pass) for stmt in body)
    return False


class RuleReviewer:
    """The default Reviewer: a few rules that keep generation from drifting."""

    def __init__(self, *, max_blank_run: int = 2):
        self.max_blank_run = max_blank_run

    def review(self, candidate: Candidate, classification: Classification, prefix: str, task: Task) -> Verdict:
        label = classification.label
        if label is Label.END:
            if classification.reason != Reason.PARSE_END_COMPLETE:
                return Verdict(Gate.REVIEWER, Outcome.REJECT, Reason.END_INCOMPLETE, classification.detail)
            if task.entry_point and not _entry_has_body(prefix, task.entry_point):
                return Verdict(
                    Gate.REVIEWER, Outcome.REJECT, Reason.END_EMPTY_BODY, f"{task.entry_point} has no body yet"
                )
            return Verdict(Gate.REVIEWER, Outcome.PASS, Reason.END_OK)
        text = candidate.text
        if len(text) > MAX_LINE_LENGTH:
            return Verdict(Gate.REVIEWER, Outcome.REJECT, Reason.REVIEW_TOO_LONG, f"{len(text)} characters")
        if len(text) - len(text.lstrip()) > MAX_INDENT:
            return Verdict(Gate.REVIEWER, Outcome.REJECT, Reason.REVIEW_TOO_DEEP, "indentation past 48 columns")
        if label is Label.NON_CODE and not text.strip():
            run = _trailing_blank_lines(prefix)
            if run >= self.max_blank_run:
                return Verdict(Gate.REVIEWER, Outcome.REJECT, Reason.REVIEW_BLANK_RUN, f"{run} blank lines already")
        restated = restated_definition(prefix, text)
        if restated:
            return Verdict(Gate.REVIEWER, Outcome.REJECT, Reason.REVIEW_RESTATED, restated)
        return Verdict(Gate.REVIEWER, Outcome.PASS, Reason.REVIEW_OK)
