"""The openai coder against the scripted server: native drafts, repair from evidence, best-of-n."""

from __future__ import annotations

from scripted_llm import Reply

from engine.agents.coders.base import ProposeRequest
from engine.agents.coders.judge import Judgement
from engine.agents.coders.openai_coder import OpenAICoder
from engine.config import CoderConfig, LLMConfig
from engine.llm.client import LLMClient
from engine.types import END, Example, Task

PROMPT = 'def double(x):\n    """Twice x.\n    >>> double(2)\n    4\n    """\n'
TASK = Task("t/1", PROMPT, "double", examples=(Example("double(2)", "4"),))


def native(body: str) -> str:
    return f"Here it is:\n```python\n{PROMPT}{body}\n```\nprint(double(2))\nIt doubles."


RIGHT = native("    y = x * 2\n    return y")
WRONG = native("    y = x + 2\n    return y + 1")
WRONG_SAME_START = native("    y = x * 2\n    return y + 1")


class ExecJudge:
    """A DraftJudge that runs the program in-process (the sandbox one is tested on its own)."""

    def __init__(self) -> None:
        self.judged: list[str] = []

    async def judge(self, code: str, task: Task) -> Judgement | None:
        self.judged.append(code)
        env: dict = {}
        exec(code, env)
        passed = sum(1 for ex in task.examples if eval(ex.call, env) == eval(ex.expected))
        failed = len(task.examples) - passed
        return Judgement(passed, len(task.examples), ("`double(2)` should return 4 but returned 5",) if failed else ())


def coder(server, judge=None, **cfg) -> OpenAICoder:
    llm = LLMConfig(provider="openai", base_url=server.base_url, api_key_env="VIGOR_TEST_KEY", backoff_s=0.01)
    # whole answers: the order these tests state (streamed drafts: tests/engine/test_streaming_loop.py)
    return OpenAICoder(CoderConfig(**{"stream": False, **cfg}), llm, LLMClient(llm), judge=judge)


async def test_a_native_draft_offers_the_line_after_the_prompt_and_keeps_the_rest(scripted_llm):
    scripted_llm.push(Reply([RIGHT]))
    c = coder(scripted_llm, judge=ExecJudge())
    proposal = await c.propose(ProposeRequest(TASK, PROMPT, 0))
    assert [cand.text for cand in proposal.candidates] == ["    y = x * 2"]
    assert c.draft_ahead() == ["    return y", END]
    request = scripted_llm.requests[0]
    assert request["messages"][0]["content"].startswith("Can you complete the following Python function?\n```python\n")
    assert request["stop"] == ["\n```\n"] and request["temperature"] == 0
    assert scripted_llm.calls == 1  # the greedy draft passes its example: no samples
    await c.aclose()


async def test_a_draft_whose_final_code_fails_an_example_is_repaired_from_seeded_samples(scripted_llm):
    scripted_llm.push(Reply([WRONG]), Reply([WRONG, RIGHT]))
    judge = ExecJudge()
    c = coder(scripted_llm, judge=judge, k=3, seed=7, start_evidence=True)
    proposal = await c.propose(ProposeRequest(TASK, PROMPT, 0))
    texts = [cand.text for cand in proposal.candidates]
    assert texts[0] == "    y = x * 2"  # the alternative whose final code passes comes first
    assert proposal.candidates[0].settings["final_passed"] == 1
    assert proposal.candidates[1].settings["final_passed"] == 0
    assert "evidence" in proposal.candidates[1].settings
    samples = [r for r in scripted_llm.requests if r["temperature"] > 0]
    assert samples and "should return 4 but returned 5" in samples[0]["messages"][0]["content"]
    assert {r["seed"] for r in samples} <= {7, 8}
    c.observe_commit(proposal.candidates[0], PROMPT + texts[0] + "\n")
    assert (await c.propose(ProposeRequest(TASK, PROMPT + texts[0] + "\n", 1))).candidates[0].text == "    return y"
    await c.aclose()


async def test_before_the_first_line_samples_are_plain_by_default_the_ones_best_of_n_draws(scripted_llm):
    scripted_llm.push(Reply([WRONG]), Reply([WRONG, RIGHT]))
    c = coder(scripted_llm, judge=ExecJudge(), k=3, seed=7)
    proposal = await c.propose(ProposeRequest(TASK, PROMPT, 0))
    assert proposal.candidates[0].text == "    y = x * 2" and proposal.candidates[0].settings["final_passed"] == 1
    samples = [r for r in scripted_llm.requests if r["temperature"] > 0]
    assert samples and all("previous attempt" not in r["messages"][0]["content"] for r in samples)
    assert {r["seed"] for r in samples} <= {8, 9}  # seed+1, seed+2: best-of-n's first samples
    await c.aclose()


async def test_a_rejected_line_is_repaired_with_its_feedback_and_never_offered_again(scripted_llm):
    scripted_llm.push(Reply([WRONG_SAME_START, RIGHT]))
    c = coder(scripted_llm, judge=ExecJudge(), k=2)
    prefix = PROMPT + "    y = x * 2\n"
    feedback = ("`return y + 1` -> exec.wrong_return: returned 5, expected 4",)
    proposal = await c.propose(ProposeRequest(TASK, prefix, 1, attempt=1, feedback=feedback))
    assert [cand.text for cand in proposal.candidates] == ["    return y"]
    assert "return y + 1" in scripted_llm.requests[0]["messages"][0]["content"]
    await c.aclose()


async def test_when_alternatives_only_repeat_the_rejected_line_the_coder_stops_asking(scripted_llm):
    scripted_llm.push(Reply([WRONG_SAME_START, WRONG_SAME_START]))
    c = coder(scripted_llm, judge=ExecJudge(), k=2)
    prefix = PROMPT + "    y = x * 2\n"
    feedback = ("`return y + 1` -> exec.wrong_return: returned 5, expected 4",)
    first = await c.propose(ProposeRequest(TASK, prefix, 1, attempt=1, feedback=feedback))
    assert first.candidates == () and first.exhausted
    again = await c.propose(ProposeRequest(TASK, prefix, 1, attempt=2, feedback=feedback))
    assert again.candidates == () and again.exhausted
    assert scripted_llm.calls == 1
    await c.aclose()


async def test_the_oneshot_answer_is_the_sanitised_native_reply_after_the_prompt(scripted_llm):
    scripted_llm.push(Reply([RIGHT]))
    c = coder(scripted_llm)
    answer = await c.answer_whole(TASK, PROMPT)
    code = PROMPT + "".join(line + "\n" for line in answer.lines)
    assert "print(" not in code and "It doubles" not in code
    env: dict = {}
    exec(code, env)
    assert env["double"](2) == 4
    request = scripted_llm.requests[0]
    assert request["max_tokens"] == 512 and request.get("stop") is None  # what a user gets: no stop
    await c.aclose()


async def test_the_oneshot_continue_variant_sends_the_old_request(scripted_llm):
    scripted_llm.push(Reply(["```python\n    return x * 2\n```"]))
    c = coder(scripted_llm, prompt="continue")
    answer = await c.answer_whole(TASK, PROMPT)
    assert answer.lines == ("    return x * 2",)
    assert "Continue this Python code" in scripted_llm.requests[0]["messages"][1]["content"]
    await c.aclose()


async def test_best_of_n_takes_the_first_sample_that_passes_the_visible_examples(scripted_llm):
    scripted_llm.push(Reply([WRONG]), Reply([WRONG, RIGHT]))
    c = coder(scripted_llm, judge=ExecJudge(), k=2, best_of=5)
    answer = await c.answer_best_of(TASK, PROMPT)
    assert answer.lines == ("    y = x * 2", "    return y")
    assert answer.usage.calls >= 2
    await c.aclose()


async def test_best_of_n_stops_at_its_token_budget_and_keeps_the_greedy_answer(scripted_llm):
    scripted_llm.push(Reply([WRONG], completion_tokens=50), Reply([RIGHT], completion_tokens=50))
    c = coder(scripted_llm, judge=ExecJudge(), k=2, best_of=5, best_of_tokens=40)
    answer = await c.answer_best_of(TASK, PROMPT)
    assert answer.lines == ("    y = x + 2", "    return y + 1")
    assert scripted_llm.calls == 1
    await c.aclose()
