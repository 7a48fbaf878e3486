"""The step loop end to end with the real `openai` client against the scripted server on loopback.

Every test checks prefix immutability at every step (the prefix only grows by whole lines).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from scripted_llm import Reply, ScriptedLLM, user_code

from engine.api import Runtime
from engine.config import parse_config
from engine.loop.records import Result, StepInfo
from engine.trace import MemoryTrace
from engine.types import Example, Task

PROMPT = 'def add(a, b):\n    """Add two numbers.\n    >>> add(1, 2)\n    3\n    """\n'
TASK = Task("demo/add", PROMPT, "add", examples=(Example("add(1, 2)", "3"),), visible_tests="assert add(1, 2) == 3")


def fenced(code: str) -> str:
    return f"```python\n{code}```"


def config(server: ScriptedLLM, **sections: Any) -> Any:
    data: dict[str, Any] = {
        "llm": {
            "provider": "openai",
            "base_url": server.base_url,
            "api_key_env": "VIGOR_TEST_KEY",
            "max_retries": 2,
            "backoff_s": 0.01,
            "timeout_s": 2.0,
        },
        "coder": {"kind": "openai", "k": 3},
        "sandbox": {"example_timeout_s": 0.5},
        "context": {"run_policy": {"max_steps": 12, "max_lines": 8, "max_llm_calls": 20}},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return parse_config(data)


def run(server: ScriptedLLM, task: Task = TASK, **sections: Any) -> tuple[Result, list[dict[str, Any]]]:
    trace = MemoryTrace()
    prefixes: list[str] = []

    async def on_step(info: StepInfo) -> None:
        previous = prefixes[-1] if prefixes else task.prompt
        assert info.prefix.startswith(previous), "the committed prefix changed"
        assert info.prefix.count("\n") - previous.count("\n") in (0, 1), "more than one line committed in a step"
        prefixes.append(info.prefix)

    async def go() -> Result:
        async with Runtime(config(server, **sections)) as rt:
            return await rt.run(task, trace=trace, on_step=on_step)

    result = asyncio.run(go())
    assert result.code.startswith(task.prompt)
    return result, trace.events


def steps(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "step"]


def candidates(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for s in steps(events) for a in s["attempts"] for c in a["candidates"]]


def by_text(events: list[dict[str, Any]], text: str) -> dict[str, Any]:
    return next(c for c in candidates(events) if c["text"] == text)


def respond_by_attempt(*answers: list[str]):  # type: ignore[no-untyped-def]
    """A responder: the i-th distinct prefix/feedback state gets answers[i] (greedy first, then samples)."""
    seen: list[str] = []

    def respond(request: dict[str, Any]) -> Reply:
        key = request["messages"][-1]["content"]
        if key not in seen:
            seen.append(key)
        texts = answers[min(seen.index(key), len(answers) - 1)]
        n = int(request.get("n", 1))
        if request.get("temperature", 0) == 0:
            return Reply([texts[0]])
        return Reply((texts[1:] or texts)[:n] if n > 1 else [(texts[1:] or texts)[0]])

    return respond


def test_correct_draft_commits_every_line_with_one_call(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(fenced("    total = a + b\n    return total\n"))
    result, events = run(scripted_llm)
    assert result.status == "completed"
    assert result.completion == "    total = a + b\n    return total\n"
    assert result.usage.calls == 1 and scripted_llm.calls == 1
    assert result.metrics.draft_hits == 2  # the second line and END came from the draft
    assert result.tests["ok"] is True
    assert [s["committed"]["text"] for s in steps(events)] == ["    total = a + b", "    return total", "<END>"]


def test_rejects_candidate_with_a_syntax_error_and_commits_a_valid_one(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = respond_by_attempt(
        [fenced("    return a +* b\n")],
        [fenced("    return a +* b\n"), fenced("    return a + b\n"), fenced("    return a + b $\n")],
        [fenced("<END>")],
    )
    result, events = run(scripted_llm)
    assert by_text(events, "    return a +* b")["reason"] == "parse.invalid"
    assert by_text(events, "    return a +* b")["gate"] == "language"
    assert "    return a + b" in result.completion


def test_rejects_candidate_that_raises_at_its_own_line(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = respond_by_attempt(
        [fenced("    return a / 0\n")],
        [fenced("    return a / 0\n"), fenced("    return a + b\n")],
    )
    result, events = run(scripted_llm)
    rejected = by_text(events, "    return a / 0")
    assert (rejected["outcome"], rejected["reason"]) == ("reject", "exec.raised")
    assert result.completion.startswith("    return a + b")
    assert result.status == "completed"


def test_rejects_a_line_that_loops_forever(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = respond_by_attempt(
        [fenced("    while True: pass\n")],
        [fenced("    while True: pass\n"), fenced("    return a + b\n")],
    )
    result, events = run(scripted_llm)
    assert by_text(events, "    while True: pass")["reason"] == "exec.timeout"
    assert result.completion.startswith("    return a + b")


def test_duplicates_are_dropped_keeping_the_best_rank(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = respond_by_attempt(
        [fenced("    return a - b\n")],
        [fenced("    return a + b\n"), fenced("    return a + b\n"), fenced("    return a + b  \n")],
    )
    # samples told the evidence: a request of their own, which the responder answers apart
    result, events = run(scripted_llm, coder={"start_evidence": True})
    # the greedy draft fails its example, so step 0 is a repair: the greedy draft and two samples,
    # the samples' final code first; the second sample repeats the first and is dropped
    fresh = steps(events)[0]["attempts"][0]
    assert [d["reason"] for d in fresh["dropped"]] == ["candidate.duplicate"]
    assert [(c["text"], c["rank"]) for c in fresh["candidates"]] == [("    return a + b", 0), ("    return a - b", 2)]
    assert result.completion == "    return a + b\n" and result.usage.calls == 2


def test_multi_line_answer_becomes_a_draft_of_single_lines(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(fenced("    if a > b:\n        return a + b\n    return b + a\n"))
    result, events = run(scripted_llm)
    assert result.status == "completed" and result.usage.calls == 1
    assert all("\n" not in c["text"] for c in candidates(events))
    assert result.completion.count("\n") == 3


def test_draft_cut_off_by_max_tokens_drops_its_partial_line_and_asks_again(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(Reply([fenced("    total = a + b\n    return tot")], finish_reason="length"))
    scripted_llm.responder = respond_by_attempt([fenced("    return total\n")])
    result, events = run(scripted_llm)
    assert "    return tot\n" not in result.completion
    assert result.completion == "    total = a + b\n    return total\n"
    assert result.status == "completed" and result.usage.calls >= 2


def test_empty_answer_is_an_end_that_cannot_commit_on_an_empty_body(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = lambda request: Reply([""])
    result, events = run(scripted_llm)
    assert result.status == "stuck"
    end = by_text(events, "<END>")
    assert (end["outcome"], end["reason"]) == ("reject", "end.empty_body")
    assert result.completion == ""


def test_coder_that_never_says_end_stops_at_the_line_budget(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = lambda request: Reply([fenced("    x = 1\n" * 40)])
    result, _ = run(scripted_llm)
    assert (result.status, result.reason) == ("budget", "max_lines")
    assert result.completion.count("\n") == 8


def test_rate_limit_and_server_error_are_retried(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(Reply(status=429), Reply(status=500), fenced("    return a + b\n"))
    result, events = run(scripted_llm)
    assert result.status == "completed"
    assert scripted_llm.calls == 3
    assert result.usage.calls == 1  # usage counts answered calls; the retries are in the log


def test_retries_exhausted_end_the_task_with_error_recorded_in_the_trace(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = lambda request: Reply(status=500)
    result, events = run(scripted_llm)
    assert result.status == "error" and "500" in result.reason
    assert [e for e in events if e["event"] == "error"]


def test_response_slower_than_the_timeout_is_retried_then_ends_the_task(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(Reply([fenced("    return a + b\n")], delay_s=3.0))
    scripted_llm.responder = lambda request: Reply([fenced("    return a + b\n")])
    result, _ = run(scripted_llm, llm={"timeout_s": 0.5})
    assert result.status == "completed" and scripted_llm.calls == 2
    scripted_llm.queue.clear()
    scripted_llm.responder = lambda request: Reply([fenced("    return a + b\n")], delay_s=3.0)
    result, _ = run(scripted_llm, llm={"timeout_s": 0.3, "max_retries": 1})
    assert result.status == "error" and "Timeout" in result.reason


def test_malformed_answer_is_recorded_and_ends_the_task_with_error(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = lambda request: Reply(raw_body='{"choices": "not a list"}')
    result, events = run(scripted_llm)
    assert result.status == "error" and "malformed" in result.reason
    errors = [e for e in events if e["event"] == "error"]
    assert errors and "malformed" in errors[0]["message"]


def test_missing_key_names_the_environment_variable(scripted_llm: ScriptedLLM) -> None:
    from engine.errors import ConfigError

    # a configuration problem (exit 2 from the CLI), not a failure of the LLM
    cfg = config(scripted_llm, llm={"base_url": "https://api.example.com/v1", "api_key_env": "NO_SUCH_KEY_VAR"})
    with pytest.raises(ConfigError, match="NO_SUCH_KEY_VAR"):
        Runtime(cfg).llm_client()


def test_same_run_twice_gives_identical_decisions(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.responder = respond_by_attempt(
        [fenced("    c = a / 0\n    return c\n")],
        [fenced("    c = a + b\n    return c\n"), fenced("    c = b + a\n"), fenced("    c = a - b\n")],
    )

    def decisions(events: list[dict[str, Any]]) -> str:
        keep = ("committed", "rule", "key", "attempts")
        out = []
        for s in steps(events):
            rec = {k: s[k] for k in keep}
            for a in rec["attempts"]:
                a.pop("timings", None)
                a.pop("calls", None)
                a.pop("usage", None)
                for c in a["candidates"]:
                    c.pop("duration_s", None)
            out.append(rec)
        return json.dumps(out, sort_keys=True)

    first, events_a = run(scripted_llm)
    second, events_b = run(scripted_llm)
    assert first.code == second.code
    assert decisions(events_a) == decisions(events_b)


def test_prompt_never_contains_anything_but_the_visible_task(scripted_llm: ScriptedLLM) -> None:
    scripted_llm.push(fenced("    return a + b\n"))
    run(scripted_llm)
    assert user_code(scripted_llm.requests[0]) == PROMPT
