"""Record/replay (`llm.cache`): a recorded run replays with no network and identical decisions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from scripted_llm import Reply, ScriptedLLM
from test_loop import PROMPT, TASK, fenced

from engine.api import Runtime
from engine.config import parse_config
from engine.loop.records import Result
from engine.trace import MemoryTrace
from engine.types import Task

VOLATILE = {"ts", "duration_s", "latency_s", "timings", "propose_s", "gate_s"}


def run(cache: str, cache_dir: Path, base_url: str, task: Task = TASK) -> tuple[Result, list[dict[str, Any]]]:
    cfg = parse_config(
        {
            "llm": {
                "provider": "openai",
                "base_url": base_url,
                "api_key_env": "VIGOR_TEST_KEY",
                "cache": cache,
                "cache_dir": str(cache_dir),
                "max_retries": 0,
            },
            "coder": {"kind": "openai", "k": 3},
            "sandbox": {"example_timeout_s": 0.5},
        }
    )
    trace = MemoryTrace()

    async def go() -> Result:
        async with Runtime(cfg) as rt:
            return await rt.run(task, trace=trace)

    return asyncio.run(go()), trace.events


def stable(value: Any) -> Any:
    """The trace without wall-clock fields (timestamps, durations, latencies)."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def test_replayed_run_makes_no_call_and_repeats_decisions_and_trace(tmp_path: Path) -> None:
    with ScriptedLLM() as server:
        server.push(fenced("    c = a / 0\n    return c\n"))
        server.responder = lambda request: Reply([fenced("    c = a + b\n    return c\n")] * int(request.get("n", 1)))
        recorded, events_recorded = run("record", tmp_path, server.base_url)
        calls = server.calls
        url = server.base_url
    assert calls >= 2 and recorded.status == "completed"
    # The server is gone: any request would fail; replay must not need one.
    replayed, events_replayed = run("replay", tmp_path, url)
    assert replayed.code == recorded.code
    assert stable(events_replayed) == stable(events_recorded)


def test_replay_miss_names_the_task_and_step_and_never_calls(tmp_path: Path) -> None:
    other = Task("demo/other", PROMPT.replace("add", "plus"), "plus")
    with ScriptedLLM() as server:
        result, events = run("replay", tmp_path, server.base_url, task=other)
        assert server.calls == 0
    assert result.status == "error"
    assert "replay cache has no answer for demo/other step 0" in result.reason
