"""Hostile candidate lines through the real gates: LanguageAgent.classify, then the Evaluator on one warm worker.

Each case is a line a model could propose inside `def f(x):` of a task whose examples are
f(1) == 2 and f(2) == 3. Every one must be contained: a hard rejection where the line misbehaves
(or a verdict no worse than the line deserves), never a pass for a wrong line, never a lost run.
"""

from __future__ import annotations

import asyncio

import pytest
from security_helpers import needs_namespaces

from engine.agents.evaluator import SandboxEvaluator
from engine.agents.language.agent import LanguageAgent
from engine.execution.sandbox import Sandbox
from engine.types import Example, Label, Outcome, Task, Verdict

PROMPT = 'def f(x):\n    """Add one.\n    >>> f(1)\n    2\n    """\n'
TASK = Task("sec/0", PROMPT, "f", examples=(Example("f(1)", "2"), Example("f(2)", "3")))
AGENT = LanguageAgent()


def classify(line: str):
    cls = AGENT.classify(AGENT.start(PROMPT), line)
    assert cls.label is Label.EXECUTABLE, (line, cls)
    return cls


def verdicts(*lines: str, timeout_s: float = 0.5, **sandbox: object) -> list[Verdict]:
    async def go() -> list[Verdict]:
        async with Sandbox(**sandbox) as sb:  # type: ignore[arg-type]
            evaluator = SandboxEvaluator(sb, example_timeout_s=timeout_s)
            return await evaluator.evaluate_many([classify(line) for line in lines], TASK)

    return asyncio.run(go())


def reason(line: str, **kwargs: object) -> tuple[Outcome, str]:
    (v,) = verdicts(line, **kwargs)
    return v.outcome, v.reason


REJECTED = {
    "infinite loop": ("    while True: pass", "exec.timeout"),
    "sleep": ("    import time; time.sleep(30)", "exec.timeout"),
    "memory bomb": ("    b = bytearray(8 << 30); return x + 1", "exec.raised"),
    "sys.exit": ("    import sys; sys.exit(0)", "exec.raised"),
    "SystemExit in a try": ("    raise SystemExit(0)", "exec.raised"),
    "KeyboardInterrupt": ("    raise KeyboardInterrupt", "exec.raised"),
    "deep recursion": ("    return f(x)", "exec.raised"),
    "os._exit": ("    import os; os._exit(0)", "exec.crashed"),
    "forged verdict": (
        '    import os, time; os.write(3, b\'{"result": {"module_time": false, "examples": '
        '[{"outcome": "ok", "compared": true}]}}\\n\'); time.sleep(2); return x + 100',
        "exec.crashed",
    ),
    "patched comparison": (
        "    import engine.execution.matching as m; m._match = lambda *a: True; return x + 100",
        "exec.wrong_return",
    ),
    "CPU-timer game": (
        "    import signal; signal.signal(signal.SIGPROF, signal.SIG_IGN); any(False for _ in iter(int, 1))",
        "exec.timeout",
    ),
}


@needs_namespaces
@pytest.mark.parametrize("case", sorted(REJECTED))
def test_hostile_line_is_rejected(case: str) -> None:
    line, expected = REJECTED[case]
    outcome, why = reason(line)
    assert outcome is Outcome.REJECT, (case, why)
    if expected:
        assert why == expected, case


HARMLESS_BUT_RIGHT = {
    "500 MB to stdout": "    import sys; [sys.stdout.write('x' * (1 << 20)) for _ in range(500)]; return x + 1",
    "builtins patched": "    import builtins; builtins.len = None; return x + 1",
    "endless threads": "    import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); return x + 1",
    "chdir": "    import os; os.chdir('/'); return x + 1",
    # the job is the init of its own PID namespace: a fatal signal it sends itself is ignored
    "SIGKILL to itself": "    import os, signal; os.kill(os.getpid(), signal.SIGKILL); return x + 1",
}


@needs_namespaces
@pytest.mark.parametrize("case", sorted(HARMLESS_BUT_RIGHT))
def test_noisy_but_correct_line_passes_and_stays_contained(case: str) -> None:
    assert reason(HARMLESS_BUT_RIGHT[case]) == (Outcome.PASS, "exec.ok"), case


@needs_namespaces
def test_a_tcp_connect_fails() -> None:
    line = "    import socket; socket.create_connection(('127.0.0.1', 9), timeout=1); return x + 1"
    assert reason(line)[0] is Outcome.REJECT


@needs_namespaces
def test_a_worker_killing_line_costs_one_candidate_and_the_next_evaluation_works() -> None:
    async def go() -> tuple[list[Verdict], list[Verdict]]:
        async with Sandbox() as sb:
            evaluator = SandboxEvaluator(sb, example_timeout_s=0.5)
            hostile = [
                "    import os; os.kill(os.getppid(), 9); return x + 1",
                "    import os, signal; [os.kill(int(p), 9) for p in os.listdir('/proc') if p.isdigit()]; return x + 1",
            ]
            first = await evaluator.evaluate_many([classify(line) for line in hostile], TASK)
            second = await evaluator.evaluate_many([classify("    return x + 1")], TASK)
            return first, second

    first, second = asyncio.run(go())
    assert all(v.outcome is not Outcome.PASS or v.reason == "exec.ok" for v in first)
    assert [(v.outcome, v.reason) for v in second] == [(Outcome.PASS, "exec.ok")]


@needs_namespaces
def test_prefetch_decides_as_line_by_line_whatever_a_line_leaves_behind() -> None:
    state = AGENT.start(PROMPT)
    first = "    import builtins; builtins._n = getattr(builtins, '_n', 0) + 1"
    state_after = AGENT.commit(state, first)
    second = "    import builtins; assert getattr(builtins, '_n', 0) == 1; return x + 1"
    items = [AGENT.classify(state, first), AGENT.classify(state_after, second)]

    async def go() -> tuple[list[Verdict], list[Verdict]]:
        async with Sandbox() as sb:
            alone = SandboxEvaluator(sb, example_timeout_s=0.5)
            one_by_one = [(await alone.evaluate_many([cls], TASK))[0] for cls in items]
            batched = SandboxEvaluator(sb, example_timeout_s=0.5)
            await batched.evaluate_ahead(items, TASK)
            assert all(batched.knows(cls) for cls in items)
            return one_by_one, [(await batched.evaluate_many([cls], TASK))[0] for cls in items]

    one_by_one, from_batch = asyncio.run(go())
    assert [(v.outcome, v.reason) for v in from_batch] == [(v.outcome, v.reason) for v in one_by_one]
