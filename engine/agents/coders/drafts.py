"""How a Coder asks for drafts: one request style per backend, behind one small interface.

A style turns (task, committed prefix, evidence) into a request, sends it through the LLM client
and reads each answer into a Draft: the lines after the prefix and whether the code ends there.

- `native` (chat models, the default): the complete function with the code so far in a fence, the
  way the model's makers ask it (engine/agents/coders/native.py); the reply is aligned to the
  prefix (engine/agents/coders/align.py).
- `continue` (chat models): the old request, "continue this code, do not repeat it"; kept so the
  tables can separate the prompt's effect from the loop's.
- `completion` and `fim` (completion models; engine/agents/coders/completion.py): the raw prefix on
  `/v1/completions`, or Qwen's fill-in-the-middle tokens with the code after the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.agents.coders.align import align_reply
from engine.agents.coders.continue_request import build_messages
from engine.agents.coders.native import native_messages
from engine.agents.coders.streaming import DraftStream, Read, Settled, always_settled, echo_settled, native_settled
from engine.agents.coders.text import continuation_lines, expected_indent
from engine.config import CoderPrompts, LLMConfig
from engine.llm.client import ChatResult, LLMClient
from engine.types import Task, Usage

# Where a native reply's code ends: its closing fence. What follows is prose the draft never uses,
# so guided drafts stop there (the one-shot baseline does not: it is what a user gets).
NATIVE_STOP = ["\n```\n"]


@dataclass(frozen=True)
class Draft:
    """One answer read as a continuation of the prefix."""

    lines: tuple[str, ...]
    complete: bool  # the code ends after these lines (END follows)
    source: str  # "draft" (the greedy answer) or "sample"
    temperature: float
    seed: int | None = None
    ended_by: str = ""
    text: str = ""  # the raw answer, for the trace


@dataclass(frozen=True)
class DraftBatch:
    """The drafts of one request (n choices) and what they cost."""

    drafts: tuple[Draft, ...]
    usage: Usage = Usage()
    calls: tuple[dict[str, Any], ...] = field(default=())


class DraftStyle(Protocol):
    """A backend's way of asking for the rest of the code."""

    name: str

    async def drafts(
        self,
        task: Task,
        prefix: str,
        *,
        n: int,
        temperature: float,
        seed: int | None,
        evidence: tuple[str, ...],
        where: str = "",
    ) -> DraftBatch: ...

    async def stream(
        self,
        task: Task,
        prefix: str,
        *,
        temperature: float,
        seed: int | None,
        evidence: tuple[str, ...],
        where: str = "",
    ) -> DraftStream:
        """The same request for one answer, read as the model writes it (docs/engine.md, "Streaming"):
        its lines are the lines `drafts` would read from the whole answer."""
        ...


def batch(result: ChatResult, read: Any, *, source: str, temperature: float, seed: int | None) -> DraftBatch:
    """Each choice of `result` read by `read(text, cut_off) -> (lines, complete, ended_by)`."""
    reasons = list(result.finish_reasons) + [""] * (len(result.texts) - len(result.finish_reasons))
    drafts = []
    for i, (text, finish) in enumerate(zip(result.texts, reasons)):
        lines, complete, ended_by = read(text, finish == "length")
        drafts.append(
            Draft(
                tuple(lines),
                complete,
                source if i == 0 else "sample",
                temperature,
                None if seed is None else seed + i,
                ended_by,
                text,
            )
        )
    calls = ({"n": len(result.texts), "seed": seed, "temperature": temperature, **result.usage.to_dict()},)
    return DraftBatch(tuple(drafts), result.usage, calls)


def native_max_tokens(llm: LLMConfig, prefix: str) -> int:
    """A native reply restates the code so far before it adds anything: room for that on top of
    `llm.max_tokens` (about four characters a token)."""
    return llm.max_tokens + len(prefix) // 4


class RequestStyle:
    """What every style shares: a request built once, sent whole (`drafts`) or streamed (`stream`),
    and read by the style's own reader. A style supplies `_request`, `reader` and, when its replies
    restate the prefix before adding to it, `settled`; completion models override `_send`."""

    name = ""
    client: LLMClient

    def _request(self, task: Task, prefix: str, evidence: tuple[str, ...], where: str = "") -> dict[str, Any]:
        raise NotImplementedError

    def reader(self, task: Task, prefix: str) -> Read:
        raise NotImplementedError

    def settled(self, task: Task, prefix: str) -> Settled:
        return always_settled

    async def _send(self, n: int, temperature: float, seed: int | None, request: dict[str, Any]) -> ChatResult:
        return await self.client.chat(n=n, temperature=temperature, seed=seed, **request)

    async def drafts(
        self,
        task: Task,
        prefix: str,
        *,
        n: int,
        temperature: float,
        seed: int | None,
        evidence: tuple[str, ...],
        where: str = "",
    ) -> DraftBatch:
        result = await self._send(n, temperature, seed, self._request(task, prefix, evidence, where))
        read = self.reader(task, prefix)
        return batch(result, read, source="draft" if temperature == 0 else "sample", temperature=temperature, seed=seed)

    async def stream(
        self,
        task: Task,
        prefix: str,
        *,
        temperature: float,
        seed: int | None,
        evidence: tuple[str, ...],
        where: str = "",
    ) -> DraftStream:
        answer = await self.client.stream(
            temperature=temperature, seed=seed, **self._request(task, prefix, evidence, where)
        )
        return DraftStream(answer, self.reader(task, prefix), settled=self.settled(task, prefix))


class NativeStyle(RequestStyle):
    """The native chat request; replies aligned to the committed prefix."""

    name = "native"

    def __init__(self, client: LLMClient, llm: LLMConfig, *, stop: list[str] | None = None):
        self.client = client
        self.llm = llm
        self.stop = NATIVE_STOP if stop is None else stop

    def _request(self, task: Task, prefix: str, evidence: tuple[str, ...], where: str = "") -> dict[str, Any]:
        return {
            "messages": native_messages(task, prefix, evidence),
            "max_tokens": native_max_tokens(self.llm, prefix),
            "stop": self.stop or None,
            "context": f"{where or task.task_id} native",
        }

    def reader(self, task: Task, prefix: str) -> Read:
        def read(text: str, cut_off: bool) -> tuple[tuple[str, ...], bool, str]:
            a = align_reply(prefix, text, task.entry_point or None, cut_off=cut_off)
            return a.lines, a.complete, a.ended_by

        return read

    def settled(self, task: Task, prefix: str) -> Settled:
        return native_settled(prefix, task.entry_point or None)


class ContinueStyle(RequestStyle):
    """The old chat request ("continue this code"); answers read as bare continuations."""

    name = "continue"

    def __init__(self, client: LLMClient, llm: LLMConfig, prompts: CoderPrompts | None = None):
        self.client = client
        self.llm = llm
        self.prompts = prompts or CoderPrompts()

    def _request(self, task: Task, prefix: str, evidence: tuple[str, ...], where: str = "") -> dict[str, Any]:
        return {
            "messages": build_messages(task, prefix, evidence, prompts=self.prompts),
            "context": f"{where or task.task_id} continue",
        }

    def reader(self, task: Task, prefix: str) -> Read:
        base = expected_indent(prefix)

        def read(text: str, cut_off: bool) -> tuple[list[str], bool, str]:
            lines = continuation_lines(prefix, text, base_indent=base)
            return (lines[:-1], False, "cut_off") if cut_off else (lines, True, "reply_end")

        return read

    def settled(self, task: Task, prefix: str) -> Settled:
        return echo_settled(prefix)
