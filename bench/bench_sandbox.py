"""Sandbox cost per execution: one job round trip through the worker, from the orchestrator's view.

Two jobs: a trivial program (the fixed cost: dispatch to a pre-forked child, isolation already
applied, result back over the pipes) and one first-arrival evaluation of a HumanEval-sized
candidate on two examples (what the Evaluator pays per executable candidate).
Target (issue 2): median <= 5 ms per execution. Also reported: the CPU time the worker, its children
and `unshare` spent per execution (start-up included), which a loaded machine distorts far less.
Compare with the layers off: VIGOR_SANDBOX_NAMESPACES=0 python bench/bench_sandbox.py
Run: python bench/bench_sandbox.py [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time

from _common import median_ms, report

from engine.execution.sandbox import Job, Sandbox

PROGRAM = (
    "def below_zero(operations):\n"
    "    balance = 0\n"
    "    for op in operations:\n"
    "        balance += op\n"
    "        if balance < 0:\n"
    "            return True\n"
)
EXAMPLES = [["below_zero([1, 2, 3])", "False"], ["below_zero([1, 2, -4, 5])", "True"]]


async def measure(job: Job, runs: int, sandbox: Sandbox) -> list[float]:
    for _ in range(5):  # warm: worker started, children pre-forked
        await sandbox.run(job)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = await sandbox.run(job)
        times.append(time.perf_counter() - t0)
        assert result.ok, result.error
    return times


def cpu_s() -> float:
    """CPU time of this process's reaped descendants: the worker, its children, and `unshare`."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def main(runs: int) -> None:
    cpu_before = cpu_s()
    async with Sandbox() as sandbox:
        trivial = await measure(Job("engine.execution.child_tests:child_run_program", ("x = 1",)), runs, sandbox)
        oracle = await measure(Job("engine.execution.oracle:run_candidate", (PROGRAM, 6, EXAMPLES, 1.0)), runs, sandbox)
        isolation = sandbox.isolation
    # Worker start-up included, spread over every job: the sandbox's whole CPU bill per execution,
    # which a busy machine does not distort the way it distorts wall-clock medians.
    cpu_per_execution_ms = round((cpu_s() - cpu_before) / (2 * (runs + 5)) * 1000, 3)
    report(
        "sandbox_execution",
        {
            "runs": runs,
            "trivial_median_ms": median_ms(trivial),
            "first_arrival_2_examples_median_ms": median_ms(oracle),
            "cpu_ms_per_execution": cpu_per_execution_ms,
            "isolation": isolation,
            "target_ms": 5.0,
        },
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    asyncio.run(main(ap.parse_args().runs))
