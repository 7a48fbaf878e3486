"""Streaming through the whole loop: lines commit while the model writes, replays decide the same,
and a cancel closes the stream (the scripted server streams at a fixed token rate)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from scripted_llm import Reply, ScriptedLLM
from test_replay import stable

from engine.api import Runtime
from engine.config import parse_config
from engine.examples import extract_examples
from engine.loop.records import Result, StepInfo
from engine.trace import MemoryTrace
from engine.types import Task

PROMPT = '''def summary(xs):
    """Count, total and largest of a list.
    >>> summary([3, 1, 2])
    (3, 6, 3)
    """
'''
BODY = """    count = 0
    total = 0
    best = None
    for x in xs:
        count += 1
        total += x
        if best is None:
            best = x
        elif x > best:
            best = x
    result = (count, total, best)
    return result
"""
TASK = Task("t/stream", PROMPT, "summary", examples=extract_examples(PROMPT, "summary"))


def native(body: str) -> str:
    return "Here is the function:\n\n```python\n" + PROMPT + body + "```\n"


def config(base_url: str, cache: str = "off", cache_dir: Path | None = None, *, judge_first: bool = False) -> Any:
    """Lines commit at the model's pace (the editor's setting) unless `judge_first`."""
    return parse_config(
        {
            "llm": {
                "provider": "openai",
                "base_url": base_url,
                "api_key_env": "VIGOR_TEST_KEY",
                "cache": cache,
                "cache_dir": str(cache_dir or ".vigor/llm-cache"),
                "max_retries": 0,
            },
            "coder": {"kind": "openai", "k": 3, "judge_first": judge_first},
            "sandbox": {"example_timeout_s": 1.0},
            "context": {"run_policy": {"max_steps": 60, "max_lines": 40}},
        }
    )


async def generate(cfg: Any, runs: int = 1, **kw: Any) -> tuple[Result, list[float], MemoryTrace]:
    """`runs` generations on one runtime (the first pays the sandbox's start); the last one's result,
    commit times and trace."""
    async with Runtime(cfg) as rt:
        for _ in range(runs):
            committed: list[float] = []
            trace = MemoryTrace()

            async def on_step(info: StepInfo, committed: list[float] = committed) -> None:
                if info.line is not None:
                    committed.append(time.perf_counter())

            result = await rt.run(TASK, trace=trace, on_step=on_step, **kw)
    return result, committed, trace


async def test_lines_commit_while_the_model_is_still_writing():
    with ScriptedLLM(lambda req: Reply([native(BODY)]), tokens_per_s=120) as server:
        result, committed, _ = await generate(config(server.base_url), runs=2)
        log = server.streams[-1]
    assert result.status == "completed" and result.code == PROMPT + BODY
    assert server.calls == 2 and all(r["stream"] is True for r in server.requests)
    last_token = log.tokens[-1][0]
    early = sum(t < last_token for t in committed)
    assert len(committed) == BODY.count("\n") and early >= 0.8 * len(committed)
    # the first body line (newline 8 of the reply) was in before the model had written the third
    first_body = native("").count("\n") - 1
    assert committed[0] < log.line_times()[first_body + 2]


async def test_a_replayed_streamed_run_makes_the_same_decisions(tmp_path):
    wrong = BODY.replace("    total = 0\n", "    total = xs[10]\n")  # raises at its own line: a draft miss

    def respond(request: dict[str, Any]) -> Reply:
        # the streamed greedy draft is wrong; the repair's samples (whole answers) are right
        return Reply([native(wrong if request.get("stream") else BODY)] * int(request.get("n") or 1))

    with ScriptedLLM(respond, tokens_per_s=400) as server:
        recorded, _, trace_live = await generate(config(server.base_url, "record", tmp_path))
        calls = server.calls
    assert recorded.status == "completed" and recorded.code == PROMPT + BODY
    assert any(log.closed_by_client for log in server.streams) or calls > 1  # the wrong draft was dropped
    replayed, _, trace_replay = await generate(config("http://127.0.0.1:9/v1", "replay", tmp_path))
    assert replayed.code == recorded.code and replayed.status == recorded.status
    live_steps = [stable(e) for e in trace_live.events if e["event"] == "step"]
    replay_steps = [stable(e) for e in trace_replay.events if e["event"] == "step"]
    for step in live_steps + replay_steps:  # when the answer was read is not a decision
        for attempt in step["attempts"]:
            attempt["calls"] = [{k: v for k, v in c.items() if k != "stream"} for c in attempt["calls"]]
    assert replay_steps == live_steps


async def test_judged_first_a_failing_streamed_draft_commits_nothing_and_is_repaired_from_the_start(tmp_path):
    # the headless default: with visible examples, the whole streamed draft is judged before its
    # first line commits; a wrong one never lends the committed prefix a line, however fast it streams
    wrong = "    return (len(xs), sum(xs), min(xs))\n"  # fails the docstring example (largest, not least)

    def respond(request: dict[str, Any]) -> Reply:
        return Reply([native(wrong if request.get("stream") else BODY)] * int(request.get("n") or 1))

    with ScriptedLLM(respond, tokens_per_s=400) as server:
        cfg = config(server.base_url, "record", tmp_path, judge_first=True)
        recorded, committed, trace_live = await generate(cfg)
        last_token = server.streams[0].tokens[-1][0]
    assert recorded.status == "completed" and recorded.code == PROMPT + BODY
    assert committed and committed[0] > last_token  # nothing before the draft had ended
    first = next(e for e in trace_live.events if e["event"] == "step")
    offered = first["attempts"][0]["candidates"]
    assert offered[0]["alternative"]["final_passed"] == 1 and offered[0]["text"] == BODY.split("\n")[0]
    assert any(c["text"] == wrong.rstrip("\n") and c["alternative"]["final_passed"] == 0 for c in offered)
    # the judge's moment is the draft's end, live or replayed: a replay decides the same, exactly
    replayed, _, trace_replay = await generate(config("http://127.0.0.1:9/v1", "replay", tmp_path, judge_first=True))
    assert replayed.code == recorded.code
    live_steps = [stable(e) for e in trace_live.events if e["event"] == "step"]
    replay_steps = [stable(e) for e in trace_replay.events if e["event"] == "step"]
    for step in live_steps + replay_steps:
        for attempt in step["attempts"]:
            attempt["calls"] = [{k: v for k, v in c.items() if k != "timings"} for c in attempt["calls"]]
    assert replay_steps == live_steps


async def test_a_cancel_closes_the_stream_and_the_model_stops():
    long_body = "".join(f"    v{i} = {i}\n" for i in range(60)) + "    return (3, 6, 3)\n"
    with ScriptedLLM(lambda req: Reply([native(long_body)]), tokens_per_s=60) as server:
        started = time.perf_counter()
        committed_box: list[int] = []

        async def on_step(info: StepInfo) -> None:
            if info.line is not None:
                committed_box.append(info.step)

        async with Runtime(config(server.base_url)) as rt:
            result = await rt.run(TASK, on_step=on_step, is_cancelled=lambda: len(committed_box) >= 2)
        elapsed = time.perf_counter() - started
        for _ in range(100):
            if server.streams[0].closed_by_client:
                break
            time.sleep(0.02)
        log = server.streams[0]
    assert result.status == "cancelled" and result.code.count("\n") - PROMPT.count("\n") in (2, 3)
    assert log.closed_by_client and log.finished is None
    total_tokens = len(native(long_body)) // 2  # far more than were sent
    assert len(log.tokens) < total_tokens and elapsed < total_tokens / 60


async def test_a_streamed_answer_cut_off_before_any_line_is_asked_again_not_looped_on():
    # cut off (max_tokens) inside the restated docstring: no line, no END; the step re-asks with
    # samples like a whole empty draft would, and never reopens the same stream in a loop
    cut = "```python\n" + PROMPT[:40]

    def respond(request: dict[str, Any]) -> Reply:
        if request.get("stream"):
            return Reply([cut], finish_reason="length")
        return Reply([native(BODY)] * int(request.get("n") or 1))

    with ScriptedLLM(respond, tokens_per_s=0) as server:
        result, _, _ = await generate(config(server.base_url))
        streamed = sum(1 for r in server.requests if r.get("stream"))
    assert result.status == "completed" and result.code == PROMPT + BODY
    assert streamed == 1 and server.calls == 2


async def test_a_task_that_ends_while_its_draft_streams_counts_the_tokens_spent():
    cfg = config("http://unused")
    with ScriptedLLM(lambda req: Reply([native(BODY)]), tokens_per_s=200) as server:
        small = cfg.model_copy(
            update={
                "llm": cfg.llm.model_copy(update={"base_url": server.base_url}),
                "context": cfg.context.model_copy(
                    update={"run_policy": cfg.context.run_policy.model_copy(update={"max_lines": 3})}
                ),
            }
        )
        result, committed, trace = await generate(small)
    assert result.status == "budget" and len(committed) == 3
    # the answer was closed before its end was seen: its tokens still count, in the task's usage
    assert result.usage.calls == 1 and result.usage.completion_tokens > 0
    (end,) = [e for e in trace.events if e["event"] == "task_end"]
    assert end["usage"]["completion_tokens"] == result.usage.completion_tokens


async def test_a_run_sharing_its_recordings_with_another_run_still_replays_to_the_same_decisions(tmp_path):
    # Two runs record into one folder at once (the benchmark's arms do): a guided run streams its
    # greedy draft while a best-of-n run asks the same request whole. The model answers the same
    # request differently each time it is asked (a batching server does), and the whole answer comes
    # back after the stream has ended. Each run must replay to its own decisions: a request is
    # answered once per recording folder, and its recording keeps what its readers did with it.
    other = BODY.replace("total", "acc")  # right too, but other lines

    def respond(request: dict[str, Any]) -> Reply:
        if request.get("stream"):
            return Reply([native(BODY)])
        return Reply([native(other)] * int(request.get("n") or 1), delay_s=1.5)

    with ScriptedLLM(respond, tokens_per_s=400) as server:
        guided = config(server.base_url, "record", tmp_path)
        best_of = guided.model_copy(update={"coder": guided.coder.model_copy(update={"mode": "best_of_n"})})

        async def best_of_n_once_the_draft_streams() -> tuple[Result, list[float], MemoryTrace]:
            while not server.streams:
                await asyncio.sleep(0.01)
            return await generate(best_of)

        (live, _, trace_live), (whole, _, whole_trace) = await asyncio.gather(
            generate(guided), best_of_n_once_the_draft_streams()
        )
    offline = "http://127.0.0.1:9/v1"
    replayed, _, trace_replay = await generate(config(offline, "replay", tmp_path))
    replayed_whole, _, whole_replay = await generate(
        best_of.model_copy(update={"llm": best_of.llm.model_copy(update={"cache": "replay", "base_url": offline})})
    )
    assert (replayed.code, replayed_whole.code) == (live.code, whole.code)
    assert decisions(trace_replay) == decisions(trace_live) and decisions(whole_replay) == decisions(whole_trace)


def decisions(trace: MemoryTrace) -> list[Any]:
    """The trace's steps and end without wall-clock facts (when an answer was read is no decision)."""
    events = [stable(e) for e in trace.events if e["event"] in ("step", "task_end")]
    for event in events:
        for attempt in event.get("attempts", ()):
            attempt["calls"] = [{k: v for k, v in c.items() if k != "timings"} for c in attempt["calls"]]
    return events
