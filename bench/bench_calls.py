"""LLM calls per task with and without the speculative draft, against the scripted server
replaying a correct solution. Target (issue 2): 1 call per task with the draft.

Run: python bench/bench_calls.py [--tasks 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from _common import report
from scripted_llm import ScriptedLLM, replay_solution

from engine.api import Runtime
from engine.config import parse_config
from engine.datasets.humaneval import load_humaneval


async def calls_per_task(items, server, draft: bool) -> list[int]:  # type: ignore[no-untyped-def]
    cfg = parse_config(
        {
            "llm": {"provider": "openai", "base_url": server.base_url, "api_key_env": "VIGOR_BENCH_KEY"},
            "coder": {"kind": "openai", "k": 3},
            "context": {"prefetch": draft, "run_policy": {"max_steps": 200, "max_lines": 200, "max_llm_calls": 400}},
        }
    )
    out = []
    async with Runtime(cfg) as rt:
        for item in items:
            result = await rt.run(item.task)
            out.append(result.usage.calls)
    return out


async def main(n: int) -> None:
    items = load_humaneval()[:n]
    solutions = {it.task.prompt: it.task.prompt + (it.task.reference or "") for it in items}
    with ScriptedLLM(replay_solution(solutions)) as server:
        with_draft = await calls_per_task(items, server, True)
        without = await calls_per_task(items, server, False)
    report(
        "llm_calls_per_task",
        {
            "tasks": n,
            "with_draft_mean": round(statistics.mean(with_draft), 3),
            "with_draft_median": statistics.median(with_draft),
            "without_draft_mean": round(statistics.mean(without), 3),
            "without_draft_median": statistics.median(without),
            "target_with_draft": 1,
        },
    )


if __name__ == "__main__":
    import os

    os.environ.setdefault("VIGOR_BENCH_KEY", "sk-bench-not-a-secret")
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=20)
    asyncio.run(main(ap.parse_args().tasks))
