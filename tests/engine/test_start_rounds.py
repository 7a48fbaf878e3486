"""Repair before the first line: more rounds of seeded samples while none passes the examples."""

from __future__ import annotations

from typing import Any

from scripted_llm import Reply, ScriptedLLM
from test_streaming_loop import BODY, PROMPT, config, generate, native

from engine.agents.coders.base import Proposal, ProposeRequest
from engine.config import parse_config
from engine.types import Candidate, Usage

WRONG = "    return (len(xs), sum(xs), min(xs))\n"  # fails the docstring example


def respond(right_from_seed: int):
    """Greedy (streamed) and samples below `right_from_seed` are wrong; later seeds are right."""

    def reply(request: dict[str, Any]) -> Reply:
        seed = request.get("seed")
        right = not request.get("stream") and seed is not None and seed >= right_from_seed
        return Reply([native(BODY if right else WRONG)] * int(request.get("n") or 1))

    return reply


def with_rounds(base_url: str, rounds: int, *, start_evidence: bool = False, max_llm_calls: int | None = None) -> Any:
    cfg = config(base_url, judge_first=True)
    coder = cfg.coder.model_copy(update={"start_rounds": rounds, "use_n": "no", "start_evidence": start_evidence})
    cfg = cfg.model_copy(update={"coder": coder})
    if max_llm_calls is None:
        return cfg
    policy = cfg.context.run_policy.model_copy(update={"max_llm_calls": max_llm_calls})
    return cfg.model_copy(update={"context": cfg.context.model_copy(update={"run_policy": policy})})


def sample_seeds(server: ScriptedLLM) -> list[int]:
    """The seeds of the whole (non-streamed) requests: the samples, in order."""
    return sorted(r["seed"] for r in server.requests if not r.get("stream"))


async def test_a_second_round_finds_the_passing_alternative_before_any_line_commits():
    with ScriptedLLM(respond(right_from_seed=3), tokens_per_s=0) as server:
        result, _, trace = await generate(with_rounds(server.base_url, 2))
        seeds = sample_seeds(server)
    assert result.code == PROMPT + BODY
    assert seeds == [1, 2, 3, 4]  # plain samples: seed+1, +2, then the next round +3, +4
    first = next(e for e in trace.events if e["event"] == "step")
    best = first["attempts"][0]["candidates"][0]["alternative"]
    assert best["final_passed"] == 1 and best["seed"] in (3, 4)


async def test_with_start_evidence_the_rounds_are_told_what_went_wrong_and_seeded_apart():
    with ScriptedLLM(respond(right_from_seed=32), tokens_per_s=0) as server:
        result, _, _ = await generate(with_rounds(server.base_url, 2, start_evidence=True))
        samples = [r for r in server.requests if not r.get("stream")]
    assert result.code == PROMPT + BODY
    assert sorted(r["seed"] for r in samples) == [0, 1, 32, 33]
    assert all("should return (3, 6, 3)" in r["messages"][0]["content"] for r in samples)


async def test_one_round_is_the_old_behaviour_and_a_passing_round_stops_asking():
    with ScriptedLLM(respond(right_from_seed=3), tokens_per_s=0) as server:
        result, _, _ = await generate(with_rounds(server.base_url, 1))
        one_round = sample_seeds(server)
    # one round: the wrong line is rejected by the Evaluator and asked again
    # (attempt 1, seeds 100+), never through a second round of the first attempt
    assert one_round[:2] == [1, 2] and 3 not in one_round and min(one_round[2:]) >= 100
    with ScriptedLLM(respond(right_from_seed=2), tokens_per_s=0) as server:
        result, _, _ = await generate(with_rounds(server.base_url, 3))
        seeds = sample_seeds(server)
    assert result.code == PROMPT + BODY and seeds == [1, 2]  # seed 2 passed: no second round


async def test_rounds_stop_where_the_run_policy_has_no_calls_left():
    with ScriptedLLM(respond(right_from_seed=10_000), tokens_per_s=0) as server:
        result, _, _ = await generate(with_rounds(server.base_url, 3, max_llm_calls=5))
        seeds = sample_seeds(server)
    # the greedy draft and two rounds of two samples are 5 calls: a third round would pass the budget;
    # with no call left the wrong line cannot be asked again and commits as the traced fallback
    assert seeds == [1, 2, 3, 4] and result.usage.calls == 5
    assert result.status == "completed" and result.code == PROMPT + WRONG
    assert [f.line.strip() for f in result.metrics.fallbacks] == [WRONG.strip()]


async def test_out_of_calls_the_draft_already_paid_for_is_finished_not_cut_mid_function():
    """Calls spent, the loop goes on while the coder needs none: the chosen alternative's remaining
    lines still pass the gates one by one, the Commit Policy's fallback takes a rejected one, and the
    program is whole. Before, the task stopped after the first line: a function that returns None."""
    wrong = "    ordered = sorted(xs)\n    total = sum(ordered)\n    return (len(xs), total, ordered[0])\n"

    def reply(request: dict[str, Any]) -> Reply:
        return Reply([native(wrong)] * int(request.get("n") or 1))

    with ScriptedLLM(reply, tokens_per_s=0) as server:
        result, _, trace = await generate(with_rounds(server.base_url, 3, max_llm_calls=3))
    assert result.usage.calls == 3 and result.status == "completed" and result.code == PROMPT + wrong
    asks = [a for e in trace.events if e["event"] == "step" for a in e["attempts"]]
    assert sum(a["usage"]["calls"] for a in asks) == 3  # no step asked past the budget


async def test_a_step_that_needs_a_call_when_none_is_left_ends_the_task_on_the_budget():
    """A draft cut off by max_tokens ends before the function does: its next line needs a call."""
    cut = "    count = len(xs)\n    total = sum(xs)\n"

    def reply(request: dict[str, Any]) -> Reply:
        return Reply([native(cut)] * int(request.get("n") or 1), finish_reason="length")

    with ScriptedLLM(reply, tokens_per_s=0) as server:
        result, _, _ = await generate(with_rounds(server.base_url, 1, max_llm_calls=1))
        calls = server.calls
    assert calls == 1 and result.usage.calls == 1
    assert result.status == "budget" and result.reason == "max_llm_calls"
    assert result.code.startswith(PROMPT + "    count = len(xs)\n")


async def test_a_repair_asks_no_more_samples_than_calls_are_left():
    # 4 calls: the greedy draft, round 0's two samples, then one of round 1's two
    with ScriptedLLM(respond(right_from_seed=10_000), tokens_per_s=0) as server:
        result, _, _ = await generate(with_rounds(server.base_url, 3, max_llm_calls=4))
        seeds = sample_seeds(server)
    assert seeds == [1, 2, 3] and result.usage.calls == 4


async def test_the_fallback_weighs_every_ask_of_the_step_not_only_the_last():
    # every answer is the same wrong line: the re-ask only repeats it (the coder is exhausted and
    # offers nothing), so the least-bad line is the first ask's, and the program is still complete
    with ScriptedLLM(lambda request: Reply([native(WRONG)] * int(request.get("n") or 1)), tokens_per_s=0) as server:
        result, _, trace = await generate(with_rounds(server.base_url, 1))
    assert result.code == PROMPT + WRONG
    first = next(e for e in trace.events if e["event"] == "step")
    assert first["rule"] == "fallback" and len(first["attempts"]) == 2
    assert first["attempts"][-1]["candidates"] == []  # the last ask offered nothing new


async def test_judge_first_judges_at_the_first_line_even_where_a_recording_says_the_end_came_later(tmp_path):
    # a run that committed lines as they came recorded that it saw the draft end at a late line;
    # a run that judges first, answered from that recording, still judges before the first line
    late_wrong = BODY.replace("    return result\n", "    return (count, total, 0)\n")

    def reply(request: dict[str, Any]) -> Reply:
        return Reply([native(late_wrong if request.get("stream") else BODY)] * int(request.get("n") or 1))

    with ScriptedLLM(reply, tokens_per_s=150) as server:
        await generate(config(server.base_url, "record", tmp_path, judge_first=False))
        result, committed, trace = await generate(config(server.base_url, "record", tmp_path, judge_first=True))
    assert result.code == PROMPT + BODY
    first = next(e for e in trace.events if e["event"] == "step")
    ended = [c for c in first["attempts"][0]["calls"] if c.get("stream") == "ended"]
    assert ended and first["attempts"][0]["candidates"][0]["alternative"]["final_passed"] == 1


async def test_a_draft_line_with_trailing_blanks_keeps_its_continuation_when_it_commits():
    # the loop strips trailing whitespace before gating; the committed line is still the coder's own
    # offer, so the rest of its draft follows without a new call
    spaced = BODY.replace("    best = None\n", "    best = None   \n").replace("    for x", "    \n    for x")

    def reply(request: dict[str, Any]) -> Reply:
        return Reply([native(WRONG if request.get("stream") else spaced)] * int(request.get("n") or 1))

    with ScriptedLLM(reply, tokens_per_s=0) as server:
        result, _, _ = await generate(with_rounds(server.base_url, 1))
    # the greedy draft and one round of two samples; every later line is a draft hit
    assert result.status == "completed" and result.usage.calls == 3


async def test_the_alternative_that_passes_commits_even_when_it_opens_with_a_comment():
    # the passing alternative's first line is a comment (it runs on no example); the failing one
    # opens with an assignment that runs on every example: the whole program decides, not the line
    commented = "    # count, sum and the largest\n" + BODY

    def reply(request: dict[str, Any]) -> Reply:
        if request.get("stream"):
            return Reply([native(WRONG)])
        seed = request.get("seed") or 0
        return Reply([native(commented if seed % 2 else "    n = len(xs)\n" + WRONG)])

    with ScriptedLLM(reply, tokens_per_s=0) as server:
        result, _, trace = await generate(with_rounds(server.base_url, 1))
    assert result.code == PROMPT + commented
    first = next(e for e in trace.events if e["event"] == "step")
    assert first["key_fields"][0] == "neg_final_passed" and first["key"][0] == -1


async def test_best_of_n_and_the_start_rounds_share_their_samples_through_one_recording(tmp_path):
    """Recording into one folder, the loop's start rounds (2 samples a request) and best-of-n (3 a
    request) ask the same seeded samples: each is asked once, and where the same seed is the first to
    pass, both keep the very same answer (the paired comparison of docs/results.md)."""
    asked: list[int] = []

    def reply(request: dict[str, Any]) -> Reply:
        seed = request.get("seed")
        if not request.get("stream"):
            asked.append(seed)
        right = not request.get("stream") and seed is not None and seed >= 4
        # the model never answers the same way twice here: the ask's number is in the answer
        body = f"    # ask {len(asked)}\n" + (BODY if right else WRONG)
        return Reply([native(body)] * int(request.get("n") or 1))

    with ScriptedLLM(reply, tokens_per_s=0) as server:
        guided = with_rounds(server.base_url, 4, max_llm_calls=8)
        guided = guided.model_copy(
            update={"llm": guided.llm.model_copy(update={"cache": "record", "cache_dir": str(tmp_path)})}
        )
        vigor, _, _ = await generate(guided)
        by_vigor = sorted(asked)
        coder = guided.coder.model_copy(update={"mode": "best_of_n", "best_of": 8})
        best_of, _, _ = await generate(guided.model_copy(update={"coder": coder}))
    assert by_vigor == [1, 2, 3, 4]  # rounds of two until seed 4 passes
    assert sorted(asked) == [1, 2, 3, 4, 5, 6]  # best-of-n asked only the seeds the loop had not
    assert "# ask " in vigor.code and vigor.code == best_of.code  # seed 4's one answer, in both


class Spendthrift:
    """A plugin coder that ignores `calls_left`: every proposal costs a call, and it never ends."""

    name = "spendthrift"
    deterministic = False

    def __init__(self) -> None:
        self.asked = 0

    async def propose(self, request: ProposeRequest) -> Proposal:
        self.asked += 1
        return Proposal((Candidate(f"    x{self.asked} = {self.asked}", source="draft"),), usage=Usage(calls=1))

    def observe_commit(self, candidate: Candidate, prefix: str) -> None:
        pass

    async def answer_whole(self, task: Any, prefix: str) -> Any:
        raise NotImplementedError

    def draft_ahead(self) -> list[str]:
        return []

    async def stop_drafting(self) -> Usage:
        return Usage()

    async def aclose(self) -> None:
        pass


def spendthrift(config: Any, runtime: Any) -> Spendthrift:
    return Spendthrift()


async def test_a_coder_that_ignores_calls_left_is_not_asked_once_the_budget_is_spent():
    cfg = parse_config(
        {"coder": {"kind": "test_start_rounds:spendthrift"}, "context": {"run_policy": {"max_llm_calls": 3}}}
    )
    result, _, _ = await generate(cfg)
    assert result.status == "budget" and result.reason == "max_llm_calls" and result.usage.calls == 3
