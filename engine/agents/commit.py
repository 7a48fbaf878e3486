"""The Commit agent: a pure function from gated candidates and the Commit Policy to one line.

Ordering key (smaller is better), recorded in every step of the trace:

    (-final_passed, tier, -passed_examples, source_priority, rank, text)

- final_passed: when the coder offers alternatives whose whole predicted program was judged on the
  visible examples (repair), how many that program passed; -1 for an unjudged candidate. It comes
  first: a first line says little (a comment passes no example, a wrong plan's assignment runs on
  all of them), the whole alternative says much. Equal for all candidates of a step without repair.
- tier: 0 for a clean pass (`exec.ok`, `review.ok`, an accepted END), 1 for an inconclusive
  `exec.unreached`, 2 for a soft `exec.deferred`. Rejected candidates are not eligible.
- passed_examples: more visible examples on which the line ran (and returned right) is better.
- source_priority: 0 for the coder's draft (its coherent whole-continuation plan), 1 otherwise,
  when the policy prefers drafts; 0 for everything when it does not.
- rank: the coder's own order; text last, so the choice never depends on dict or set order.

The fallback (`exec_only`), used only when no candidate is allowed, considers candidates that
passed the parse gate and were rejected by the Evaluator alone, ordered by
(-passed_examples, failed_examples, reason_order, source_priority, rank, text), so a line that
agrees with more examples wins, a wrong return beats a crash, and a crash beats a timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import CommitPolicy
from engine.reasons import FALLBACK_ORDER, Reason
from engine.types import Candidate, Classification, Label, Outcome, Verdict

KEY_FIELDS = ("neg_final_passed", "tier", "neg_passed_examples", "source_priority", "rank", "text")
FALLBACK_KEY_FIELDS = (
    "neg_passed_examples",
    "failed_examples",
    "reason_order",
    "source_priority",
    "rank",
    "text",
)


@dataclass(frozen=True)
class Gated:
    """A candidate with what the Language agent and its gate said of it."""

    candidate: Candidate
    classification: Classification
    verdict: Verdict


@dataclass(frozen=True)
class Decision:
    """Which candidate commits (index into the gated list) and why; index None means none."""

    index: int | None
    rule: str  # "gates" | "fallback" | "none"
    key: tuple[object, ...] = ()
    key_fields: tuple[str, ...] = KEY_FIELDS


def tier(verdict: Verdict) -> int:
    """0 for a clean pass, 1 unreached, 2 deferred: the reason's own tier (engine/reasons.py)."""
    if verdict.outcome is Outcome.PASS:
        return 0
    own = Reason(verdict.reason).tier
    if own is None:
        raise ValueError(f"{verdict.reason} rejects; it has no commit tier")
    return own


def _source_priority(candidate: Candidate, policy: CommitPolicy) -> int:
    return 0 if (not policy.prefer_draft or candidate.source == "draft") else 1


def final_passed(candidate: Candidate) -> int:
    """How many visible examples the final code of the candidate's alternative passed; -1 when its
    alternative was not judged (a draft line, an unfinished or unjudgeable alternative)."""
    value = candidate.settings.get("final_passed")
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def commit_key(g: Gated, policy: CommitPolicy) -> tuple[object, ...]:
    """The documented ordering key of an allowed candidate."""
    return (
        -final_passed(g.candidate),
        tier(g.verdict),
        -g.verdict.passed_examples,
        _source_priority(g.candidate, policy),
        g.candidate.rank,
        g.candidate.text,
    )


def fallback_key(g: Gated, policy: CommitPolicy) -> tuple[object, ...]:
    """The documented ordering key among candidates rejected only on execution."""
    return (
        -g.verdict.passed_examples,
        g.verdict.failed_examples,
        FALLBACK_ORDER.get(Reason(g.verdict.reason), 9),
        _source_priority(g.candidate, policy),
        g.candidate.rank,
        g.candidate.text,
    )


def choose(gated: list[Gated], policy: CommitPolicy) -> Decision:
    """Pick exactly one allowed candidate by the ordering key, or report that none is allowed."""
    allowed = [(commit_key(g, policy), i) for i, g in enumerate(gated) if g.verdict.allowed]
    if not allowed:
        return Decision(None, "none")
    key, index = min(allowed)
    return Decision(index, "gates", key)


def choose_fallback(gated: list[Gated], policy: CommitPolicy) -> Decision:
    """The traced fallback: among lines rejected by the Evaluator alone, the least-bad one."""
    if policy.fallback != "exec_only":
        return Decision(None, "none")
    pool = [
        (fallback_key(g, policy), i)
        for i, g in enumerate(gated)
        if g.classification.label is Label.EXECUTABLE
        and g.verdict.gate == "evaluator"
        and g.verdict.outcome is Outcome.REJECT
        # a line that ended its process (or forged its result) is never the least bad
        and g.verdict.reason != Reason.EXEC_CRASHED
    ]
    if not pool:
        return Decision(None, "none")
    key, index = min(pool)
    return Decision(index, "fallback", key, FALLBACK_KEY_FIELDS)
