"""The Evaluator: gates executable candidates by running them speculatively in the sandbox.

Each candidate's program runs in its own sandbox child (`engine.execution.oracle.run_candidate`) on every
visible example of the task; the per-example first-arrival outcomes become one Verdict:

- any example where the candidate raised: `exec.raised` (reject), or `exec.deferred` (soft) when
  the line sits in an open `try`/`with` body or the error is a NameError that later code could
  still define (a call to a helper not yet written);
- else any example where its first execution did not finish in time: `exec.timeout` (reject);
- else any example where its `return` gave the top-level call a value other than the expected
  literal: `exec.wrong_return` (reject);
- else any example where it finished: `exec.ok` (pass), `passed_examples` counting them;
- else `exec.unreached` (soft): never reached, reached only after an open loop's back-edge, or
  the prefix's own timeout. Never a rejection.

Before any of that: a candidate whose child ended without one well-formed result (it exited, was
killed, or wrote on the result channel itself) is `exec.crashed` (reject, never a fallback). The
returns compared with an example's expected value are compared here, from the value the child
observed, not by the child (docs/security.md).
"""

from __future__ import annotations

import ast
from typing import Any, Protocol

from engine.execution.matching import decode_value, values_match
from engine.execution.sandbox import Job, JobResult, Sandbox
from engine.reasons import Gate, Reason
from engine.types import Classification, Outcome, Task, Verdict

_FUNCTION_KEYWORDS = ("def", "async def")
SPECULATIVE_TEST_CPU_S = 2.0  # CPU time for a predicted final program's tests inside a prefetch batch


class Evaluator(Protocol):
    """The speculative oracle's interface (the first-arrival rule, docs/design.md)."""

    async def evaluate_many(self, items: list[Classification], task: Task) -> list[Verdict]:
        """One verdict per executable classification (prefix + line programs)."""
        ...

    def knows(self, item: Classification) -> bool:
        """Speculation hook: whether a verdict for exactly this program and line was evaluated ahead."""
        ...

    async def evaluate_ahead(
        self, items: list[Classification], task: Task, final_tests: Job | None = None
    ) -> dict[str, Any] | None:
        """Speculation hook: evaluate the executable lines a draft offers next, as if each committed in
        turn, in one go; `evaluate_many` then answers those lines from what was learned here. When
        `final_tests` (the Tester's job for the draft's predicted final code) is given it runs too,
        and its result is returned; None when it did not run. An Evaluator that does not speculate
        returns None and keeps nothing."""
        ...


class SandboxEvaluator:
    """The default Evaluator (docs/design.md, "The first-arrival rule") over a shared Sandbox."""

    def __init__(self, sandbox: Sandbox, *, example_timeout_s: float = 1.0):
        self.sandbox = sandbox
        self.example_timeout_s = example_timeout_s
        # Verdicts prefetched for a draft's coming lines, by (program, line): a line's program is the
        # committed prefix + the line (+ closers), so a hit means exactly the same evaluation.
        self._prefetched: dict[tuple[str, int], Verdict] = {}

    def _plan(self, cls: Classification, examples: list[list[Any]]) -> Verdict | tuple[tuple[Any, ...], float]:
        """A verdict that needs no run, or the oracle's arguments and the job's hard deadline."""
        in_function = any(kw in _FUNCTION_KEYWORDS for kw, _ in cls.blocks)
        if in_function and not examples:
            # Nothing can call the function: running it would only cost a fork.
            return Verdict(Gate.EVALUATOR, Outcome.SOFT, Reason.EXEC_UNREACHED, "the task has no visible examples")
        runs = 1 if not in_function else max(1, len(examples))
        return (cls.program, cls.line_no), runs * (self.example_timeout_s + 0.5) + 1.0

    async def evaluate_many(self, items: list[Classification], task: Task) -> list[Verdict]:
        """One verdict per executable classification, evaluated concurrently."""
        examples = _examples(task)
        verdicts: list[Verdict | None] = [None] * len(items)
        jobs: list[tuple[int, Job]] = []
        for i, cls in enumerate(items):
            cached = self._prefetched.pop((cls.program, cls.line_no), None)
            plan = cached if cached is not None else self._plan(cls, examples)
            if isinstance(plan, Verdict):
                verdicts[i] = plan
                continue
            args, hard = plan
            jobs.append(
                (
                    i,
                    Job(
                        "engine.execution.oracle:run_candidate",
                        (*args, examples, self.example_timeout_s),
                        timeout_s=hard,
                    ),
                )
            )
        results = await self.sandbox.run_many([job for _, job in jobs])
        for (i, _), result in zip(jobs, results):
            verdicts[i] = verdict_from(result, examples)
        return [v for v in verdicts if v is not None]

    def knows(self, cls: Classification) -> bool:
        return (cls.program, cls.line_no) in self._prefetched

    async def evaluate_ahead(
        self, items: list[Classification], task: Task, final_tests: Job | None = None
    ) -> dict[str, Any] | None:
        """Evaluate the executable lines a draft will offer next, all in one sandbox child.

        Their verdicts wait for the steps that offer those lines with the same program. A line the
        draft does not get to (a rejection before it, another candidate committed) is simply never
        asked for; when the batch fails or times out nothing is kept and each line runs on its own.
        `final_tests` (a sandbox Job) runs last in the same child; its value is returned (None: not run).
        """
        examples = _examples(task)
        self._prefetched.clear()
        runs: list[tuple[Classification, tuple[Any, ...]]] = []
        deadline = 1.0
        for cls in items:
            plan = self._plan(cls, examples)
            if not isinstance(plan, Verdict):
                runs.append((cls, plan[0]))
                deadline += plan[1]
        if not runs or (len(runs) < 2 and final_tests is None):
            return None  # one line and nothing else: its own step runs it as before
        extra = None
        if final_tests is not None:  # the tests of the draft's predicted final code
            extra = [final_tests.func, list(final_tests.args), SPECULATIVE_TEST_CPU_S]
            deadline += SPECULATIVE_TEST_CPU_S + 1.0
        job = Job(
            "engine.execution.batch:run_candidates",
            ([list(args) for _, args in runs], examples, self.example_timeout_s, extra),
            timeout_s=deadline,
        )
        result = await self.sandbox.run(job)
        value = result.value if result.ok and isinstance(result.value, dict) else {}
        verdicts = value.get("candidates")
        if not isinstance(verdicts, list) or len(verdicts) != len(runs):
            return None
        for (cls, _), one in zip(runs, verdicts):
            share = result.duration_s / len(runs)
            if isinstance(one, dict) and "crashed" in one:  # that line's own fork ended without a result
                res = JobResult(ok=False, error=str(one["crashed"]), crashed=True, duration_s=share)
            else:
                res = JobResult(ok=True, value=one, duration_s=share)
            self._prefetched[(cls.program, cls.line_no)] = verdict_from(res, examples)
        tested = value.get("after")
        return tested if isinstance(tested, dict) else None


def _examples(task: Task) -> list[list[Any]]:
    return [[ex.call, ex.expected, ex.stdin] for ex in task.examples]


def _outcomes(result: JobResult) -> list[dict[str, Any]]:
    """Per-example outcomes; for a child killed at its deadline, rebuilt from its streamed progress."""
    if result.ok and isinstance(result.value, dict):
        return list(result.value.get("examples", []))
    done: dict[int, dict[str, Any]] = {}
    started: set[int] = set()
    for fact in result.progress:
        if "outcome" in fact:
            done[fact["ex"]] = fact
        elif fact.get("started"):
            started.add(fact["ex"])
    out = [done[i] for i in sorted(done)]
    last = max(started - set(done), default=None)
    if result.timed_out and last is not None:
        out.append({"ex": last, "outcome": "timeout", "detail": "killed at the sandbox deadline"})
    elif not out:
        out.append({"outcome": "error", "detail": result.error or "no result"})
    return out


def _judge(outcomes: list[dict[str, Any]], examples: list[list[Any]] | None) -> list[dict[str, Any]]:
    """Decide each compared return here, on the trusted side, from the value the child observed.

    The child's own `ok`/`wrong_return` for a return is not trusted: its comparison ran beside the
    candidate's code. The expected value is this side's copy of the example (docs/security.md).
    """
    if examples is None:
        return outcomes
    rows = [row for row in examples if row[0] or (len(row) > 2 and row[2] is not None)]
    judged = []
    for o in outcomes:
        claims_compare = o.get("outcome") == "wrong_return" or (o.get("outcome") == "ok" and o.get("compared"))
        if not claims_compare:
            judged.append(o)
            continue
        index = o.get("ex")
        if "observed" not in o or not isinstance(index, int) or not 0 <= index < len(rows) or rows[index][1] is None:
            judged.append({"outcome": "crashed", "detail": "a compared return without its observed value"})
            continue
        try:
            observed, expected = decode_value(o["observed"]), ast.literal_eval(rows[index][1])
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            judged.append({"outcome": "crashed", "detail": "an observed value that does not decode"})
            continue
        if values_match(observed, expected):
            judged.append({"ex": index, "outcome": "ok", "compared": True})
        else:
            actual = repr(observed)[:200]
            judged.append({"ex": index, "outcome": "wrong_return", "actual": actual, "expected": rows[index][1][:200]})
    return judged


def verdict_from(result: JobResult, examples: list[list[Any]] | None = None) -> Verdict:
    """Fold the per-example outcomes of one candidate into a Verdict (see the module docstring).

    `examples` (the oracle's rows) lets this side decide compared returns itself; a child that
    ended without one well-formed result (`crashed`) is a hard `exec.crashed`.
    """
    if result.crashed:
        detail = f"the candidate's process ended without a well-formed result ({result.error})"
        return Verdict(Gate.EVALUATOR, Outcome.REJECT, Reason.EXEC_CRASHED, detail, 0, 1, result.duration_s)
    outcomes = _judge(_outcomes(result), examples)
    crashed = [o for o in outcomes if o.get("outcome") == "crashed"]
    if crashed:
        detail = f"sandbox: {crashed[0]['detail']}"
        return Verdict(Gate.EVALUATOR, Outcome.REJECT, Reason.EXEC_CRASHED, detail, 0, 1, result.duration_s)
    by: dict[str, list[dict[str, Any]]] = {}
    for o in outcomes:
        by.setdefault(o["outcome"], []).append(o)
    passed = sum(1 for o in by.get("ok", []))
    failed = sum(len(by.get(k, [])) for k in ("raised", "timeout", "wrong_return"))
    d = result.duration_s

    def verdict(outcome: Outcome, reason: str, detail: str) -> Verdict:
        return Verdict(Gate.EVALUATOR, outcome, reason, detail, passed, failed, d)

    if "raised" in by:
        hard = [o for o in by["raised"] if not (o.get("soft") or o.get("deferrable"))]
        if hard:
            return verdict(Outcome.REJECT, Reason.EXEC_RAISED, f"{hard[0]['exc_type']}: {hard[0]['message']}")
        first = by["raised"][0]
        why = "inside an open try/with body" if first.get("soft") else "later code could define the name"
        return verdict(Outcome.SOFT, Reason.EXEC_DEFERRED, f"{first['exc_type']}: {first['message']} ({why})")
    if "timeout" in by:
        return verdict(Outcome.REJECT, Reason.EXEC_TIMEOUT, "its first execution did not finish in time")
    if "wrong_return" in by:
        first = by["wrong_return"][0]
        return verdict(
            Outcome.REJECT, Reason.EXEC_WRONG_RETURN, f"returned {first['actual']}, expected {first['expected']}"
        )
    if "error" in by:
        return verdict(Outcome.SOFT, Reason.EXEC_UNREACHED, f"sandbox: {by['error'][0]['detail']}")
    if passed:
        compared = sum(1 for o in by["ok"] if o.get("compared"))
        return verdict(Outcome.PASS, Reason.EXEC_OK, f"ran on {passed} example(s), {compared} return(s) matched")
    why = by.get("unreached", [{}])[0].get("why", "never reached")
    return verdict(Outcome.SOFT, Reason.EXEC_UNREACHED, why)
