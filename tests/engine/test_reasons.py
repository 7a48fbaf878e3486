"""Reason codes: each has a tier and a documented meaning; the commit tier comes from the reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.agents.commit import tier
from engine.reasons import TIERS, Reason
from engine.types import Gate, Outcome, Verdict

DOC = Path(__file__).resolve().parents[2] / "docs" / "trace-format.md"


def _documented() -> dict[str, tuple[str, str]]:
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| (\w+) \| (.+?) \|$", DOC.read_text(encoding="utf-8"), re.M)
    return {code: (t, meaning) for code, t, meaning in rows}


def test_every_reason_has_a_tier() -> None:
    assert set(TIERS) == set(Reason)


def test_every_reason_is_documented_with_its_tier_and_a_meaning() -> None:
    documented = _documented()
    for reason in Reason:
        assert reason.value in documented, f"{reason.value} has no row in docs/trace-format.md"
        doc_tier, meaning = documented[reason.value]
        assert doc_tier == ("reject" if reason.tier is None else str(reason.tier)), reason.value
        assert len(meaning.strip()) > 10, reason.value


def test_no_documented_code_is_missing_from_the_enum() -> None:
    assert set(_documented()) <= {r.value for r in Reason}


def test_soft_tiers_come_from_the_reason() -> None:
    unreached = Verdict(Gate.EVALUATOR, Outcome.SOFT, Reason.EXEC_UNREACHED)
    deferred = Verdict(Gate.EVALUATOR, Outcome.SOFT, Reason.EXEC_DEFERRED)
    assert (tier(unreached), tier(deferred)) == (1, 2)


def test_a_misspelt_or_rejecting_reason_has_no_soft_tier() -> None:
    with pytest.raises(ValueError):
        tier(Verdict(Gate.EVALUATOR, Outcome.SOFT, "exec.unreachd"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tier(Verdict(Gate.EVALUATOR, Outcome.SOFT, Reason.EXEC_RAISED))
