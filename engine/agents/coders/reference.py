"""The offline `reference` coder: the task's reference line among seeded distractors.

It is the gates' self-test. At each step it offers the next line of the task's reference
solution (as its draft, the plan it would follow) together with distractors of four kinds, in a
seeded order: a syntax-broken variant, one that raises when it runs, a wrong indentation, and a
plausible wrong line (a small mutation). The kind of each distractor is kept in
`Candidate.settings["kind"]` so runs can report rejection rates by kind.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from engine.agents.coders.base import Proposal, ProposeRequest, WholeAnswer
from engine.types import END, Candidate, Task, Usage

_HEADER_RAISE = re.compile(r"^(if|elif|while)\s+(.*):\s*$")
_MUTATIONS: tuple[tuple[str, str], ...] = (
    (r"<=", "<"),
    (r">=", ">"),
    (r"(?<![<>=!])<(?!=)", "<="),
    (r"(?<![<>=!])>(?!=)", ">="),
    (r"==", "!="),
    (r"!=", "=="),
    (r"\band\b", "or"),
    (r"\bor\b", "and"),
    (r"\bTrue\b", "False"),
    (r"\bFalse\b", "True"),
    (r"(?<![\w.])(\d+)(?![\w.])", "+1"),
    (r" \+ ", " - "),
    (r" - ", " + "),
    (r"\bmin\(", "max("),
    (r"\bmax\(", "min("),
)


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _last_code_line(prefix: str) -> str:
    for line in reversed(prefix.split("\n")):
        if line.strip() and not line.lstrip().startswith("#"):
            return line
    return ""


def distractor_syntax(line: str, prefix: str, rng: random.Random) -> str | None:
    """A stray `$` is a character no Python token contains outside a string."""
    return line.rstrip() + " $" if line.strip() else None


def distractor_raises(line: str, prefix: str, rng: random.Random) -> str | None:
    """A variant that raises IndexError the first time it runs."""
    stripped = line.strip()
    indent = line[: _indent_of(line)]
    m = _HEADER_RAISE.match(stripped)
    if m:
        return f"{indent}{m.group(1)} [][0] or {m.group(2)}:"
    if not stripped or stripped.endswith(":") or stripped.startswith(("@", "else", "elif", "except", "finally")):
        return None
    if stripped.endswith(("(", "[", "{", ",", "\\")) or stripped.startswith((")", "]", "}")):
        return None
    return f"{indent}[][0]; {stripped}"


def distractor_indent(line: str, prefix: str, rng: random.Random) -> str | None:
    """An indentation that cannot fit: the header's own level, or deeper than any open block."""
    if not line.strip():
        return None
    last = _last_code_line(prefix)
    if last.rstrip().endswith(":"):
        width = _indent_of(last)
    else:
        width = max(_indent_of(last), _indent_of(line)) + 4
    if width == _indent_of(line):
        width += 4
    return " " * width + line.strip()


def distractor_plausible(line: str, prefix: str, rng: random.Random) -> str | None:
    """A small mutation a model could plausibly write: a flipped operator or an off-by-one."""
    options = []
    for pattern, repl in _MUTATIONS:
        for m in re.finditer(pattern, line):
            if repl == "+1":
                options.append(line[: m.start()] + str(int(m.group(1)) + 1) + line[m.end() :])
            else:
                options.append(line[: m.start()] + repl + line[m.end() :])
    options = [o for o in options if o != line]
    return rng.choice(options) if options else None


DISTRACTORS: dict[str, Callable[[str, str, random.Random], str | None]] = {
    "syntax": distractor_syntax,
    "raises": distractor_raises,
    "indent": distractor_indent,
    "plausible": distractor_plausible,
}


class ReferenceCoder:
    """Replays `task.reference` line by line among seeded distractors; no LLM, no cost."""

    name = "reference"
    deterministic = True

    def __init__(self, *, k: int = 5, seed: int = 0, distractors: tuple[str, ...] = tuple(DISTRACTORS)):
        self.k = k
        self.seed = seed
        self.kinds = tuple(distractors)

    async def propose(self, request: ProposeRequest) -> Proposal:
        task = request.task
        lines = reference_lines(task)
        start = task.prompt
        done = request.prefix[len(start) :] if request.prefix.startswith(start) else request.prefix
        index = done.count("\n")
        rng = random.Random(f"{self.seed}:{task.task_id}:{request.step}")
        if index >= len(lines):
            return Proposal((Candidate(END, source="draft", model="reference"),))
        truth = lines[index]
        offered = [(truth, "draft", "reference")]
        if truth.strip() and not truth.lstrip().startswith("#"):
            for kind in self.kinds[: max(0, self.k - 1)]:
                text = DISTRACTORS[kind](truth, request.prefix, rng)
                if text is not None and text != truth:
                    offered.append((text, f"distractor:{kind}", kind))
        order = list(range(len(offered)))
        rng.shuffle(order)
        candidates = tuple(
            Candidate(
                offered[i][0], source=offered[i][1], rank=rank, model="reference", settings={"kind": offered[i][2]}
            )
            for rank, i in enumerate(order)
        )
        return Proposal(candidates)

    async def answer_whole(self, task: Task, prefix: str) -> WholeAnswer:
        return WholeAnswer(tuple((task.reference or "").rstrip().split("\n")))  # its one-shot is the reference

    def draft_ahead(self) -> list[str]:
        return []  # no draft: every step proposes afresh

    def observe_commit(self, candidate: Candidate, prefix: str) -> None:
        return None

    async def stop_drafting(self) -> Usage:
        return Usage()  # no answer is ever streamed

    async def aclose(self) -> None:
        return None


def reference_lines(task: Task) -> list[str]:
    """The reference solution's lines, trailing blank lines dropped."""
    if task.reference is None:
        from engine.errors import ConfigError

        raise ConfigError(f"coder.kind: reference needs a reference solution, task {task.task_id} has none")
    lines = task.reference.rstrip().split("\n")
    return [line.rstrip() for line in lines]
