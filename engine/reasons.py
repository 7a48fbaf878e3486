"""Reason codes: the short stable codes every verdict, label and dropped candidate carries.

One enum for all of them, so a misspelt reason is an AttributeError, not a silent default. Each
reason has a tier (where an allowed candidate ranks in the Commit agent's key) or none (it rejects).
Their meanings are documented in docs/trace-format.md; a test checks that every code is there.
"""

from __future__ import annotations

import enum


class Reason(str, enum.Enum):
    """A stable reason code; compares equal to its text (``Reason.EXEC_OK == "exec.ok"``)."""

    # The Language agent (labels)
    PARSE_OK = "parse.ok"
    PARSE_FRAGMENT = "parse.fragment"
    PARSE_NON_CODE = "parse.non_code"
    PARSE_INVALID = "parse.invalid"
    PARSE_INDENT = "parse.indent"
    PARSE_END_COMPLETE = "parse.end_complete"
    PARSE_END_INCOMPLETE = "parse.end_incomplete"
    # The Reviewer (fragments, non-code lines, END)
    REVIEW_OK = "review.ok"
    REVIEW_BLANK_RUN = "review.blank_run"
    REVIEW_TOO_LONG = "review.too_long"
    REVIEW_TOO_DEEP = "review.too_deep"
    REVIEW_RESTATED = "review.restated"
    END_OK = "end.ok"
    END_INCOMPLETE = "end.incomplete"
    END_EMPTY_BODY = "end.empty_body"
    # The Evaluator (executable lines, the first-arrival rule)
    EXEC_OK = "exec.ok"
    EXEC_RAISED = "exec.raised"
    EXEC_WRONG_RETURN = "exec.wrong_return"
    EXEC_TIMEOUT = "exec.timeout"
    EXEC_DEFERRED = "exec.deferred"
    EXEC_UNREACHED = "exec.unreached"
    EXEC_CRASHED = "exec.crashed"
    # Normalisation (dropped candidates)
    CANDIDATE_MULTILINE = "candidate.multiline"
    CANDIDATE_DUPLICATE = "candidate.duplicate"

    def __str__(self) -> str:
        return self.value

    @property
    def tier(self) -> int | None:
        """The commit tier of an allowed candidate with this reason (0 best); None: it rejects."""
        return TIERS[self]


TIERS: dict[Reason, int | None] = {
    Reason.PARSE_OK: 0,
    Reason.PARSE_FRAGMENT: 0,
    Reason.PARSE_NON_CODE: 0,
    Reason.PARSE_INVALID: None,
    Reason.PARSE_INDENT: None,
    Reason.PARSE_END_COMPLETE: 0,
    Reason.PARSE_END_INCOMPLETE: None,
    Reason.REVIEW_OK: 0,
    Reason.REVIEW_BLANK_RUN: None,
    Reason.REVIEW_TOO_LONG: None,
    Reason.REVIEW_TOO_DEEP: None,
    Reason.REVIEW_RESTATED: None,
    Reason.END_OK: 0,
    Reason.END_INCOMPLETE: None,
    Reason.END_EMPTY_BODY: None,
    Reason.EXEC_OK: 0,
    Reason.EXEC_RAISED: None,
    Reason.EXEC_WRONG_RETURN: None,
    Reason.EXEC_TIMEOUT: None,
    Reason.EXEC_DEFERRED: 2,
    Reason.EXEC_UNREACHED: 1,
    Reason.EXEC_CRASHED: None,
    Reason.CANDIDATE_MULTILINE: None,
    Reason.CANDIDATE_DUPLICATE: None,
}
"""Every reason's tier; a test checks that no reason is missing."""

# Among candidates rejected by the Evaluator alone (the `exec_only` fallback): a wrong return beats
# a crash, a crash beats a timeout.
FALLBACK_ORDER: dict[Reason, int] = {Reason.EXEC_WRONG_RETURN: 0, Reason.EXEC_RAISED: 1, Reason.EXEC_TIMEOUT: 2}


class Gate(str, enum.Enum):
    """Which agent decided a verdict."""

    LANGUAGE = "language"
    REVIEWER = "reviewer"
    EVALUATOR = "evaluator"

    def __str__(self) -> str:
        return self.value
