"""The Coder interface: propose an ordered list of candidate next lines for a prefix."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine.types import Candidate, Task, Usage


@dataclass(frozen=True)
class ProposeRequest:
    """What a coder may see at one step: the task (never its hidden tests), the prefix, feedback."""

    task: Task
    prefix: str
    step: int
    attempt: int = 0  # 0 for the first ask of a step, n for the n-th re-ask
    feedback: tuple[str, ...] = ()  # one line per rejected candidate: "`line` -> reason: detail"
    # what the Run Policy leaves the task (None: no limit): a coder asks no more than this (repair
    # rounds ask fewer); with no call left it offers only what it already has (a draft's lines) and
    # otherwise says `out_of_calls`, which ends the task with status budget
    calls_left: int | None = None
    seconds_left: float | None = None


@dataclass(frozen=True)
class Proposal:
    """A coder's answer: candidates in its preferred order, plus what it cost."""

    candidates: tuple[Candidate, ...]
    usage: Usage = Usage()
    draft_hit: bool = False  # served from a live draft without an LLM call
    # the coder has nothing new at this prefix (its alternatives only repeat rejected lines): the
    # loop stops asking and the step ends by the Commit Policy's fallback or as stuck
    exhausted: bool = False
    # the coder needs an LLM call to offer anything and the Run Policy leaves none (calls_left == 0)
    out_of_calls: bool = False
    calls: tuple[dict[str, Any], ...] = field(default=())  # per-call facts for the trace


@dataclass(frozen=True)
class WholeAnswer:
    """A coder's one-shot answer: the whole continuation's lines, unchecked, and what it cost."""

    lines: tuple[str, ...]
    usage: Usage = Usage()


@runtime_checkable
class Coder(Protocol):
    """Proposes candidates; hears which line committed so it can keep or drop its draft."""

    name: str
    deterministic: bool  # re-asking gives the same answer: the loop does not re-ask
    # Optional, read with getattr: `keeps_to_calls_left = True` says the coder honours
    # ProposeRequest.calls_left (with none left it offers only lines it holds, else says
    # `out_of_calls`), so the loop goes on asking it once the call budget is spent. A coder
    # without it is not asked again then: the budget holds whatever the coder does.

    async def propose(self, request: ProposeRequest) -> Proposal:
        """The step's candidates. A draft hit may wait for the model: a streamed draft's next line is
        offered as soon as the model has written it (docs/engine.md, "Streaming")."""
        ...

    def observe_commit(self, candidate: Candidate, prefix: str) -> None: ...

    async def answer_whole(self, task: Task, prefix: str) -> WholeAnswer:
        """The one-shot baseline's single request: the whole continuation of `prefix` at once."""
        ...

    def draft_ahead(self) -> list[str]:
        """Speculation hook: the lines the live draft offers after its rank-0 candidate, should that
        candidate commit (END included as the sentinel); [] when the coder keeps no draft. The loop
        evaluates them ahead in one sandbox child (engine/loop/speculation.py)."""
        ...

    async def stop_drafting(self) -> Usage:
        """Streaming hook: close the answer still being read, if any, so the model stops writing it
        (its HTTP response is closed). The loop calls it when the task ends, a cancel included, and
        adds what it returns to the task's usage: the tokens of streamed answers not yet counted
        in a proposal. A coder that does not stream returns Usage()."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class BestOfN(Protocol):
    """A coder that can sample whole answers and keep the first that passes the visible examples
    (`coder.mode: best_of_n`, a baseline: docs/drafting.md)."""

    async def answer_best_of(self, task: Task, prefix: str) -> WholeAnswer: ...
