"""The draft prefetch: a draft's coming lines are evaluated in one sandbox child, with the same
decisions as evaluating each line in its own child at its own step."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from scripted_llm import Reply, ScriptedLLM, user_code

from engine.agents.evaluator import SandboxEvaluator
from engine.api import Runtime
from engine.config import parse_config
from engine.datasets.humaneval import load_humaneval
from engine.execution.sandbox import Sandbox
from engine.loop.steps import run_task
from engine.trace import MemoryTrace

TASKS = ["HumanEval/0", "HumanEval/2", "HumanEval/9", "HumanEval/12", "HumanEval/26"]


class LineByLineEvaluator(SandboxEvaluator):
    """The same Evaluator with the prefetch switched off: every line in its own child."""

    async def evaluate_ahead(self, items, task, final_tests=None):
        return None  # evaluates nothing ahead


WRONG = ("HumanEval/9", "HumanEval/26")


def responder(solutions: dict[str, tuple[str, str]]) -> Any:
    """For the WRONG tasks the greedy answer's last `return` is wrong (caught on the examples) and
    samples are the reference; the other tasks get the reference every time."""

    def respond(request: dict[str, Any]) -> Reply:
        prefix = user_code(request)
        task_id, full = next(((t, s) for t, s in solutions.values() if s.startswith(prefix)), ("", prefix))
        rest = full[len(prefix) :]
        if request.get("temperature", 0) == 0 and task_id in WRONG:
            lines = rest.split("\n")
            last = max((i for i, line in enumerate(lines) if line.strip().startswith("return ")), default=None)
            if last is not None:
                lines[last] = lines[last].replace("return ", "return None if True else ", 1)
            rest = "\n".join(lines)
        return Reply(["```python\n" + rest + "```"] * int(request.get("n") or 1))

    return respond


def decisions(events: list[dict[str, Any]]) -> str:
    out = []
    for e in events:
        if e["event"] == "step":
            cands = [
                (c["text"], c["outcome"], c["reason"], c.get("detail"), c.get("alternative"))
                for a in e["attempts"]
                for c in a["candidates"]
            ]
            out.append({"committed": e["committed"], "rule": e["rule"], "candidates": cands})
    return json.dumps(out)


async def generate(base_url: str, line_by_line: bool, jobs: list[str]) -> list[tuple[str, str]]:
    items = {it.task.task_id: it.task for it in load_humaneval()}
    cfg = parse_config(
        {
            "llm": {"provider": "openai", "base_url": base_url, "api_key_env": "VIGOR_TEST_KEY", "max_retries": 0},
            "coder": {"kind": "openai", "k": 2},
        }
    )
    run, run_many = Sandbox.run, Sandbox.run_many

    async def counted_run(self: Sandbox, job: Any) -> Any:
        jobs.append(job.func)
        return await run(self, job)

    async def counted_run_many(self: Sandbox, batch: list[Any]) -> Any:
        jobs.extend(job.func for job in batch)
        return await run_many(self, batch)

    out = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Sandbox, "run", counted_run)
        mp.setattr(Sandbox, "run_many", counted_run_many)
        async with Runtime(cfg) as rt:
            for task_id in TASKS:
                agents = rt.agents()
                if line_by_line:
                    agents.evaluator = LineByLineEvaluator(rt.sandbox, example_timeout_s=1.0)
                trace = MemoryTrace()
                result = await run_task(items[task_id], cfg, agents, trace=trace)
                out.append((result.code, decisions(trace.events), json.dumps(result.tests, sort_keys=True)))
    return out


def test_prefetched_verdicts_equal_line_by_line_ones_with_fewer_children(
    monkeypatch: pytest.MonkeyPatch, scripted_llm: ScriptedLLM
) -> None:
    monkeypatch.setenv("VIGOR_TEST_KEY", "k")
    items = load_humaneval()
    scripted_llm.responder = responder(
        {it.task.prompt: (it.task.task_id, it.task.prompt + (it.task.reference or "")) for it in items}
    )
    batched_jobs: list[str] = []
    single_jobs: list[str] = []
    batched = asyncio.run(generate(scripted_llm.base_url, False, batched_jobs))
    single = asyncio.run(generate(scripted_llm.base_url, True, single_jobs))
    assert batched == single
    # the wrong greedy draft's final code failed its examples before any line committed, and the
    # sampled reference (ranked first by its final code) committed, in both modes
    assert [("should return" in d) for _, d, _ in batched] == [t in WRONG for t in TASKS]
    assert all(json.loads(t)["ok"] for _, _, t in batched)  # the visible tests ran on the final code
    # a draft that ran to END without a rejection had its final code tested inside the batch child
    assert batched_jobs.count("engine.execution.child_tests:child_run_tests") < single_jobs.count(
        "engine.execution.child_tests:child_run_tests"
    )
    assert (
        "engine.execution.batch:run_candidates" in batched_jobs
        and "engine.execution.batch:run_candidates" not in single_jobs
    )
    assert len(batched_jobs) <= 0.6 * len(single_jobs), (len(batched_jobs), len(single_jobs))
