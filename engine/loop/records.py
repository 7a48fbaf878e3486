"""Typed records that cross modules: candidates, attempts, steps, task metrics, results.

The loop builds them; the trace, the run directory, the editor server and the run tools read them
back with `from_json` and use attributes. `to_json` is the one serialiser: its keys are the trace
format of docs/trace-format.md (schema 1), unchanged by this typing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.types import Usage


def _usage(data: dict[str, Any] | None) -> Usage:
    d = data or {}
    return Usage(
        int(d.get("calls", 0)),
        int(d.get("prompt_tokens", 0)),
        int(d.get("completion_tokens", 0)),
        float(d.get("latency_s", 0.0)),
    )


@dataclass(frozen=True)
class CandidateRecord:
    """One gated candidate as the trace shows it: the line, its label and its gate's verdict."""

    text: str
    source: str
    rank: int
    label: str
    parse_reason: str
    gate: str
    outcome: str  # "pass" | "soft" | "reject"
    reason: str
    detail: str = ""
    passed_examples: int = 0
    failed_examples: int = 0
    duration_s: float = 0.0
    kind: str | None = None  # the reference coder's candidate kind; absent from the trace when None
    # what the coder knew of the alternative this line opens (repair, docs/drafting.md): how many
    # visible examples its final code passes, the first failure, its seed; absent when empty
    alternative: tuple[tuple[str, Any], ...] = ()

    @property
    def rejected(self) -> bool:
        return self.outcome == "reject"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "text": self.text,
            "source": self.source,
            "rank": self.rank,
            "label": self.label,
            "parse_reason": self.parse_reason,
            "gate": self.gate,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
            "passed_examples": self.passed_examples,
            "failed_examples": self.failed_examples,
            "duration_s": round(self.duration_s, 6),
        }
        if self.kind is not None:
            out["kind"] = self.kind
        if self.alternative:
            out["alternative"] = dict(self.alternative)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CandidateRecord:
        return cls(
            text=d.get("text", ""),
            source=d.get("source", ""),
            rank=int(d.get("rank", 0)),
            label=d.get("label", ""),
            parse_reason=d.get("parse_reason", ""),
            gate=d.get("gate", ""),
            outcome=d.get("outcome", ""),
            reason=d.get("reason", ""),
            detail=d.get("detail", ""),
            passed_examples=int(d.get("passed_examples", 0)),
            failed_examples=int(d.get("failed_examples", 0)),
            duration_s=float(d.get("duration_s", 0.0)),
            kind=d.get("kind"),
            alternative=tuple((d.get("alternative") or {}).items()),
        )


@dataclass(frozen=True)
class DroppedRecord:
    """A candidate normalisation removed (`candidate.multiline`, `candidate.duplicate`)."""

    text: str
    rank: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "rank": self.rank, "reason": self.reason}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DroppedRecord:
        return cls(d.get("text", ""), int(d.get("rank", 0)), d.get("reason", ""))


@dataclass(frozen=True)
class AttemptRecord:
    """One ask within a step: what the Coder proposed and what the gates said of each candidate."""

    attempt: int
    draft_hit: bool
    candidates: tuple[CandidateRecord, ...]
    dropped: tuple[DroppedRecord, ...] = ()
    usage: Usage = Usage()
    calls: tuple[dict[str, Any], ...] = ()
    propose_s: float = 0.0
    gate_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "draft_hit": self.draft_hit,
            "candidates": [c.to_json() for c in self.candidates],
            "dropped": [d.to_json() for d in self.dropped],
            "usage": self.usage.to_dict(),
            "calls": [dict(c) for c in self.calls],
            "timings": {"propose_s": round(self.propose_s, 6), "gate_s": round(self.gate_s, 6)},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AttemptRecord:
        timings = d.get("timings") or {}
        return cls(
            attempt=int(d.get("attempt", 0)),
            draft_hit=bool(d.get("draft_hit", False)),
            candidates=tuple(CandidateRecord.from_json(c) for c in d.get("candidates", [])),
            dropped=tuple(DroppedRecord.from_json(x) for x in d.get("dropped", [])),
            usage=_usage(d.get("usage")),
            calls=tuple(d.get("calls", [])),
            propose_s=float(timings.get("propose_s", 0.0)),
            gate_s=float(timings.get("gate_s", 0.0)),
        )


@dataclass(frozen=True)
class Committed:
    """The line a step committed (END included) and where it came from."""

    text: str
    source: str
    rank: int

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "source": self.source, "rank": self.rank}


@dataclass(frozen=True)
class StepRecord:
    """One step of the loop: its asks, the committed line (None: nothing passed) and the key that chose it."""

    step: int
    prefix_lines: int
    attempts: tuple[AttemptRecord, ...]
    committed: Committed | None
    rule: str  # "gates" | "fallback" | "none"
    key: tuple[Any, ...] = ()
    key_fields: tuple[str, ...] = ()
    usage: Usage = Usage()
    oneshot: bool = False  # the one-shot baseline's single pseudo-step

    @property
    def calls(self) -> int:
        return sum(a.usage.calls for a in self.attempts)

    @property
    def draft_hit(self) -> bool:
        return bool(self.attempts) and self.attempts[0].draft_hit

    @property
    def candidates(self) -> tuple[CandidateRecord, ...]:
        return tuple(c for a in self.attempts for c in a.candidates)

    def to_json(self) -> dict[str, Any]:
        if self.oneshot:
            return {
                "step": self.step,
                "oneshot": True,
                "committed": None if self.committed is None else {"text": self.committed.text},
                "usage": self.usage.to_dict(),
            }
        return {
            "step": self.step,
            "prefix_lines": self.prefix_lines,
            "attempts": [a.to_json() for a in self.attempts],
            "committed": None if self.committed is None else self.committed.to_json(),
            "rule": self.rule,
            "key": list(self.key),
            "key_fields": list(self.key_fields),
            "usage": self.usage.to_dict(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StepRecord:
        c = d.get("committed")
        committed = None if c is None else Committed(c.get("text", ""), c.get("source", ""), int(c.get("rank", 0)))
        return cls(
            step=int(d.get("step", 0)),
            prefix_lines=int(d.get("prefix_lines", 0)),
            attempts=tuple(AttemptRecord.from_json(a) for a in d.get("attempts", [])),
            committed=committed,
            rule=d.get("rule", ""),
            key=tuple(d.get("key", [])),
            key_fields=tuple(d.get("key_fields", [])),
            usage=_usage(d.get("usage")),
            oneshot=bool(d.get("oneshot", False)),
        )


@dataclass(frozen=True)
class Fallback:
    """A line committed by the traced fallback although its gate rejected it."""

    step: int
    line: str
    reason: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"step": self.step, "line": self.line, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class KindTally:
    """Per candidate kind (the reference coder's tags): offered, rejected, rejections by reason."""

    offered: int = 0
    rejected: int = 0
    reasons: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"offered": self.offered, "rejected": self.rejected, "reasons": dict(self.reasons)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> KindTally:
        return cls(int(d.get("offered", 0)), int(d.get("rejected", 0)), tuple((d.get("reasons") or {}).items()))


@dataclass(frozen=True)
class TaskMetrics:
    """What one generation counted: draft hits and misses, re-asks, fallbacks, candidate kinds."""

    draft_hits: int = 0
    draft_misses: int = 0
    reasks: int = 0
    fallbacks: tuple[Fallback, ...] = ()
    kinds: tuple[tuple[str, KindTally], ...] = ()
    oneshot: bool = False

    def kind(self, name: str) -> KindTally:
        return dict(self.kinds).get(name, KindTally())

    def to_json(self) -> dict[str, Any]:
        if self.oneshot:
            return {"oneshot": True}
        return {
            "draft_hits": self.draft_hits,
            "draft_misses": self.draft_misses,
            "fallbacks": [f.to_json() for f in self.fallbacks],
            "kinds": {name: t.to_json() for name, t in self.kinds},
            "reasks": self.reasks,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> TaskMetrics:
        d = d or {}
        return cls(
            draft_hits=int(d.get("draft_hits", 0)),
            draft_misses=int(d.get("draft_misses", 0)),
            reasks=int(d.get("reasks", 0)),
            fallbacks=tuple(
                Fallback(int(f.get("step", 0)), f.get("line", ""), f.get("reason", ""), f.get("detail", ""))
                for f in d.get("fallbacks", [])
            ),
            kinds=tuple((k, KindTally.from_json(v)) for k, v in (d.get("kinds") or {}).items()),
            oneshot=bool(d.get("oneshot", False)),
        )


@dataclass
class MetricsTally:
    """The loop's running count for one task; `freeze()` gives the TaskMetrics value."""

    draft_hits: int = 0
    draft_misses: int = 0
    reasks: int = 0
    fallbacks: list[Fallback] = field(default_factory=list)
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)

    def count_kind(self, kind: str, rejected_reason: str | None) -> None:
        slot = self.kinds.setdefault(kind, {"offered": 0, "rejected": 0, "reasons": {}})
        slot["offered"] += 1
        if rejected_reason is not None:
            slot["rejected"] += 1
            slot["reasons"][rejected_reason] = slot["reasons"].get(rejected_reason, 0) + 1

    def freeze(self) -> TaskMetrics:
        return TaskMetrics(
            draft_hits=self.draft_hits,
            draft_misses=self.draft_misses,
            reasks=self.reasks,
            fallbacks=tuple(self.fallbacks),
            kinds=tuple((k, KindTally.from_json(v)) for k, v in self.kinds.items()),
        )


@dataclass(frozen=True)
class StepInfo:
    """What a front end hears after each step (the editor streams `line`)."""

    step: int
    line: str | None  # None when the step ended the generation (END, stuck)
    prefix: str
    record: StepRecord


@dataclass(frozen=True)
class Result:
    """The outcome of one generation."""

    task_id: str
    status: str  # "completed" | "stuck" | "budget" | "error" | "cancelled"
    code: str  # the final program (prompt + committed lines)
    completion: str  # the committed lines alone
    steps: int
    usage: Usage
    reason: str = ""
    tests: dict[str, Any] = field(default_factory=dict)
    metrics: TaskMetrics = TaskMetrics()
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "status": self.status,
            "reason": self.reason,
            "code": self.code,
            "completion": self.completion,
            "steps": self.steps,
            "usage": self.usage.to_dict(),
            "tests": self.tests,
            "metrics": self.metrics.to_json(),
            "duration_s": round(self.duration_s, 4),
        }
