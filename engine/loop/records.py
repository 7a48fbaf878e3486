"""Typed records that cross modules: steps, attempts, candidates, task metrics, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.types import Usage


@dataclass(frozen=True)
class StepInfo:
    """What a front end hears after each commit (the editor streams `line`)."""

    step: int
    line: str | None  # None when the step ended the generation (END, stuck)
    prefix: str
    record: dict[str, Any]


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
    metrics: dict[str, Any] = field(default_factory=dict)
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
            "metrics": self.metrics,
            "duration_s": round(self.duration_s, 4),
        }
