from engine.agents.commit import Gated, choose, choose_fallback, commit_key
from engine.config import CommitPolicy
from engine.types import Candidate, Classification, Label, Outcome, Verdict

EXE = Classification(Label.EXECUTABLE, "parse.ok")


def g(text, outcome, reason, *, rank=0, source="sample", passed=0, failed=0, gate="evaluator", cls=EXE):
    return Gated(
        Candidate(text, source=source, rank=rank),
        cls,
        Verdict(gate, outcome, reason, passed_examples=passed, failed_examples=failed),
    )


def test_clean_pass_beats_unreached_and_deferred_whatever_the_rank():
    gated = [
        g("a", Outcome.SOFT, "exec.deferred", rank=0),
        g("b", Outcome.SOFT, "exec.unreached", rank=1),
        g("c", Outcome.PASS, "exec.ok", rank=2),
    ]
    assert choose(gated, CommitPolicy()).index == 2
    assert choose(gated[:2], CommitPolicy()).index == 1


def test_more_passed_examples_wins_within_a_tier():
    gated = [g("a", Outcome.PASS, "exec.ok", rank=0, passed=1), g("b", Outcome.PASS, "exec.ok", rank=1, passed=3)]
    assert choose(gated, CommitPolicy()).index == 1


def test_draft_preferred_at_equal_evidence_only_when_policy_says_so():
    gated = [g("a", Outcome.PASS, "exec.ok", rank=0), g("b", Outcome.PASS, "exec.ok", rank=1, source="draft")]
    assert choose(gated, CommitPolicy(prefer_draft=True)).index == 1
    assert choose(gated, CommitPolicy(prefer_draft=False)).index == 0


def test_rejected_candidates_never_commit_through_the_gates():
    gated = [g("a", Outcome.REJECT, "exec.raised"), g("b", Outcome.REJECT, "parse.invalid", gate="language")]
    assert choose(gated, CommitPolicy()).index is None


def test_choice_is_a_pure_function_of_its_inputs():
    gated = [g(t, Outcome.PASS, "exec.ok", rank=r) for r, t in enumerate("xyz")]
    first = choose(gated, CommitPolicy())
    assert all(choose(list(gated), CommitPolicy()) == first for _ in range(5))
    assert first.key == commit_key(gated[0], CommitPolicy())


def test_fallback_prefers_the_line_that_agrees_with_more_examples_and_never_a_parse_failure():
    gated = [
        g("raise", Outcome.REJECT, "exec.raised", rank=0, failed=2),
        g("ref", Outcome.REJECT, "exec.wrong_return", rank=1, passed=1, failed=1),
        g(
            "bad",
            Outcome.REJECT,
            "parse.invalid",
            rank=2,
            gate="language",
            cls=Classification(Label.INVALID, "parse.invalid"),
        ),
    ]
    d = choose_fallback(gated, CommitPolicy(fallback="exec_only"))
    assert d.index == 1 and d.rule == "fallback"
    assert choose_fallback(gated, CommitPolicy(fallback="none")).index is None
    assert choose_fallback([gated[2]], CommitPolicy()).index is None
