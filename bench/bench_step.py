"""Engine overhead per step with the reference coder (k=5), LLM excluded, sandboxed evaluation included.

Target (issue 2): median <= 5 ms per step.
Run: python bench/bench_step.py [--tasks 40]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _common import median_ms, report

from engine.api import Runtime
from engine.config import parse_config
from engine.datasets.humaneval import load_humaneval


async def main(n_tasks: int) -> None:
    cfg = parse_config(
        {"coder": {"kind": "reference", "k": 5}, "context": {"run_policy": {"max_steps": 200, "max_lines": 200}}}
    )
    items = load_humaneval()[:n_tasks]
    per_step: list[float] = []
    async with Runtime(cfg) as rt:
        await rt.run(items[0].task)  # warm the sandbox worker
        for item in items:
            marks = [time.perf_counter()]

            async def on_step(info, marks=marks):  # type: ignore[no-untyped-def]
                marks.append(time.perf_counter())

            await rt.run(item.task, on_step=on_step)
            per_step += [b - a for a, b in zip(marks, marks[1:])]
    report(
        "engine_step_reference_k5",
        {"tasks": n_tasks, "steps": len(per_step), "median_ms": median_ms(per_step), "target_ms": 5.0},
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=40)
    asyncio.run(main(ap.parse_args().tasks))
