"""Plain values shared by every agent: tasks, candidates, labels, verdicts, steps and results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from engine.reasons import Gate, Reason

END = "<END>"
"""The sentinel candidate text meaning "the code is done"."""


class Label(str, enum.Enum):
    """What the Language agent says a candidate line is, given the prefix."""

    EXECUTABLE = "executable"  # prefix + line forms a complete program (open try blocks closed)
    FRAGMENT = "fragment"  # a viable but incomplete prefix: header, open bracket or string, decorator
    NON_CODE = "non_code"  # blank or comment
    INVALID = "invalid"  # no continuation can repair it
    END = "end"  # the END sentinel


@dataclass(frozen=True)
class Example:
    """One visible input/output example of a task.

    `call` is a Python expression calling the entry point (``f(1, 2)``); `expected` is the source
    of a literal for the expected value, or None when the example has no comparable output.
    `form` names the docstring form it came from (``doctest``, ``arrow``, ``equals``, ``assert`` ...),
    or ``stdio`` for a script-style example whose `stdin` is fed to the program.
    """

    call: str
    expected: str | None = None
    form: str = "doctest"
    stdin: str | None = None  # for script-style tasks: the input fed on stdin (then `call` may be "")


@dataclass(frozen=True)
class Task:
    """What generation may see of a task. Hidden tests are never part of this value."""

    task_id: str
    prompt: str  # the initial prefix (imports, signature, docstring); may be empty
    entry_point: str = ""
    instruction: str = ""  # natural-language request, when the prompt is not code
    examples: tuple[Example, ...] = ()
    visible_tests: str = ""  # test code the Tester runs at the end (asserts over entry_point)
    reference: str | None = None  # a reference solution body, used only by the `reference` coder
    suffix: str = ""  # text after the generation point (editor use), context only
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Usage:
    """LLM usage counted for one call or summed over a step, task or run."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.latency_s + other.latency_s,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": round(self.latency_s, 4),
        }


@dataclass(frozen=True)
class Candidate:
    """One proposed next line. `text` has no newline; END is the sentinel."""

    text: str
    source: str = "sample"  # "draft" | "sample" | "reference" | "distractor:<kind>" ...
    rank: int = 0  # position in the coder's ordered proposal, 0 is best
    model: str = ""
    settings: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_end(self) -> bool:
        return self.text == END


@dataclass(frozen=True)
class Classification:
    """The Language agent's answer for one candidate.

    For an executable line, `program` is compilable source: prefix + line, with any open `try`
    blocks closed by neutral `finally: pass` clauses, and `line_no` is the 1-based line number of
    the candidate in it. `blocks` lists the compound statements that enclose the candidate
    (outermost first) as (keyword, header line number in `program`), keyword one of `def`,
    `class`, `for`, `while`, `try`, `with`, `if`, `elif`, `else`, `except`, `finally`, `match`,
    `case` (`async def`/`async for`/`async with` keep their `async ` prefix). The Evaluator reads
    the open loops and the open `try`/`with` bodies from it.
    """

    label: Label
    reason: Reason
    detail: str = ""
    program: str | None = None
    line_no: int = 0
    blocks: tuple[tuple[str, int], ...] = ()


class Outcome(str, enum.Enum):
    """What a gate decided. PASS and SOFT may commit; REJECT may not (except by a traced fallback)."""

    PASS = "pass"
    SOFT = "soft"  # inconclusive or deferred: allowed, ranked below PASS
    REJECT = "reject"


@dataclass(frozen=True)
class Verdict:
    """A gate's decision on one candidate, with a stable reason code and free-form detail."""

    gate: Gate
    outcome: Outcome
    reason: Reason
    detail: str = ""
    passed_examples: int = 0  # examples on which the line ran and (where comparable) returned right
    failed_examples: int = 0
    duration_s: float = 0.0

    @property
    def allowed(self) -> bool:
        return self.outcome is not Outcome.REJECT
