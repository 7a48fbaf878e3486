"""Typed records: the one serialiser writes the trace format, and readers get the same value back."""

from __future__ import annotations

from engine.loop.records import (
    AttemptRecord,
    CandidateRecord,
    Committed,
    DroppedRecord,
    Fallback,
    KindTally,
    StepRecord,
    TaskMetrics,
)
from engine.types import Usage


def _step() -> StepRecord:
    cand = CandidateRecord(
        "    return x", "draft", 0, "executable", "parse.ok", "evaluator", "pass", "exec.ok", "ran", 2
    )
    bad = CandidateRecord("    return y", "sample", 1, "executable", "parse.ok", "evaluator", "reject", "exec.raised")
    attempt = AttemptRecord(
        0, False, (cand, bad), (DroppedRecord("x\ny", 2, "candidate.multiline"),), Usage(1, 10, 5, 0.5), ({"n": 2},)
    )
    return StepRecord(
        3, 7, (attempt,), Committed("    return x", "draft", 0), "gates", (0, -2), ("tier", "neg"), Usage(1)
    )


def test_a_step_record_survives_its_json() -> None:
    step = _step()
    assert StepRecord.from_json(step.to_json()) == step


def test_step_json_keeps_the_documented_keys() -> None:
    data = _step().to_json()
    assert list(data) == ["step", "prefix_lines", "attempts", "committed", "rule", "key", "key_fields", "usage"]
    cand = data["attempts"][0]["candidates"][0]
    assert "kind" not in cand  # only the reference coder's candidates carry a kind
    assert data["attempts"][0]["timings"] == {"propose_s": 0.0, "gate_s": 0.0}


def test_readers_use_attributes() -> None:
    step = _step()
    assert step.calls == 1 and not step.draft_hit
    assert [c.text for c in step.candidates if c.rejected] == ["    return y"]


def test_task_metrics_survive_their_json() -> None:
    m = TaskMetrics(
        2,
        1,
        1,
        (Fallback(4, "x = 1", "exec.raised", "boom"),),
        (("reference", KindTally(3, 1, (("exec.raised", 1),))),),
    )
    assert TaskMetrics.from_json(m.to_json()) == m
    assert m.kind("reference").rejected == 1 and m.kind("syntax").offered == 0
